/**
 * Lingering (loop.ts): after a turn that received a run of datagrams from clients without
 * filling the batch, a worker waits LINGER_US so the next run gathers in the socket; a
 * lone datagram (a ping, a keepalive, a handshake answer) goes on at once, and so does a
 * full batch (a flood is drained at full speed, so a sender cannot make the worker idle).
 * The waits themselves (`Pause`) run here on AF_UNIX datagram pairs standing in for the
 * wake fd, the TUN queue and a data socket.
 */
import { afterEach, expect, test } from "bun:test";
import { LINGER_AFTER, lingers, Pause, pollFds } from "../../../src/datapath/loop.ts";
import { AF_UNIX, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../../src/platform/linux/libc.ts";

const BATCH = 64;
/** A wait far longer than a pause ever is: one not ended early shows. */
const LONG_US = 900_000;
const open: number[] = [];
afterEach(() => {
  for (const fd of open.splice(0)) libc.close(fd);
});

/** A datagram pair: [the end a Pause watches, the end the test writes]. */
function pair(): [number, number] {
  const fds = new Int32Array(2);
  expect(libc.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds)).toBe(0);
  open.push(fds[0] as number, fds[1] as number);
  return [fds[0] as number, fds[1] as number];
}

const ONE = new Uint8Array([1]);
function send(fd: number): void {
  expect(libc.write(fd, ONE, 1)).toBe(1);
}
/** Datagrams waiting on `fd` (read and counted). */
function drain(fd: number): number {
  const buf = new Uint8Array(16);
  let n = 0;
  while (libc.read(fd, buf, buf.length) > 0) n++;
  return n;
}

test("nothing received, or fewer than LINGER_AFTER datagrams: no linger (interactive traffic keeps its latency)", () => {
  expect(LINGER_AFTER).toBeGreaterThan(1);
  for (let n = 0; n < LINGER_AFTER; n++) expect(lingers(n, BATCH)).toBe(false);
});

test("a run of datagrams that emptied the socket: linger", () => {
  for (let n = LINGER_AFTER; n < BATCH; n++) expect(lingers(n, BATCH)).toBe(true);
});

test("a full batch: no linger, the socket may hold more", () => {
  expect(lingers(BATCH, BATCH)).toBe(false);
  expect(lingers(LINGER_AFTER, LINGER_AFTER)).toBe(false);
});

test("a linger leaves datagrams in the socket and ends when its time is up", () => {
  const [wake] = pair();
  const [tun] = pair();
  const [sock, client] = pair();
  let received = 0;
  const linger = new Pause(pollFds([wake, tun]), 2, () => ++received);
  send(client);
  send(client);
  expect(linger.run(2000)).toBe(0);
  expect(received).toBe(0);
  expect(drain(sock)).toBe(2);
});

test("a packet in the TUN queue ends a linger at once (replies and downloads do not wait for it)", () => {
  const [wake] = pair();
  const [tun, kernel] = pair();
  const linger = new Pause(pollFds([wake, tun]), 2, () => 0);
  send(kernel);
  const t0 = performance.now();
  expect(linger.run(LONG_US)).toBe(0);
  expect(performance.now() - t0).toBeLessThan(LONG_US / 2000);
  expect(drain(tun)).toBe(1); // left for the tx engine
});

test("STOP (the wake fd) ends a linger", () => {
  const [wake, main] = pair();
  const [tun] = pair();
  const linger = new Pause(pollFds([wake, tun]), 2, () => 0);
  send(main);
  const t0 = performance.now();
  expect(linger.run(LONG_US)).toBe(0);
  expect(performance.now() - t0).toBeLessThan(LONG_US / 2000);
});

test("a wait of a second or more is a valid timespec: STOP still ends it at once", () => {
  const [wake, main] = pair();
  const linger = new Pause(pollFds([wake]), 1, () => 0);
  send(main);
  const t0 = performance.now();
  expect(linger.run(1_500_000)).toBe(0);
  expect(performance.now() - t0).toBeLessThan(500);
});

test("the pacing pause receives what arrives meanwhile, goes on waiting, and passes a socket error up", () => {
  const [wake, main] = pair();
  const [sock, client] = pair();
  let calls = 0;
  const pause = new Pause(pollFds([wake, sock]), 1, () => {
    calls++;
    const n = drain(sock);
    if (calls === 1) send(client); // more arrives: the pause receives again
    else send(main); // then STOP
    return n;
  });
  send(client);
  expect(pause.run(LONG_US)).toBe(0);
  expect(calls).toBe(2);
  const failing = new Pause(pollFds([wake, sock]), 1, () => -9);
  drain(wake);
  send(client);
  expect(failing.run(LONG_US)).toBe(9);
});

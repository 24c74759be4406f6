/**
 * @module test/contract/transport.contract.test
 * The server Transport and the ClientTransport contracts (transport.case.ts,
 * client-transport.case.ts) on the fakes every time, and on the real Bun.udpSocket
 * transports inside a fresh network namespace as root (udp-linux.suite.ts, run with
 * `ip netns exec`). Without root the namespace part is skipped with the reason printed.
 * Plus what only a fake can stage: a socket buffer that fills up mid-batch.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FakeClientUdp } from "../fakes/fake-client-udp.ts";
import { FakeUdp } from "../fakes/fake-udp.ts";
import { type ClientTransportHarness, clientTransportContract } from "./client-transport.case.ts";
import { bunTestInNetns, createNetns, deleteLeftovers, deleteNetns, netnsUnavailable } from "./netns-util.ts";
import { type TransportHarness, transportContract } from "./transport.case.ts";

const unavailable = netnsUnavailable();
if (unavailable !== null) console.warn(`SKIP UdpTransport/ConnectedUdp contract in a netns: ${unavailable}`);

const PEER = { address: "192.0.2.10", port: 40001 };
const UNSENDABLE = { address: "2001:db8::1", port: 9 };

async function openFakeServerSide(): Promise<TransportHarness> {
  const transport = new FakeUdp();
  transport.unreachable.add(UNSENDABLE.address);
  return {
    transport,
    peer: {
      send: (d) => transport.receive(d, PEER.address, PEER.port),
      received: () => transport.sent.filter((s) => s.address === PEER.address && s.port === PEER.port).map((s) => s.data),
    },
    unsendable: UNSENDABLE,
    settle: () => new Promise((r) => setImmediate(r)),
    async dispose() {
      transport.close();
    },
  };
}

async function openFakeClientSide(): Promise<ClientTransportHarness> {
  const transport = new FakeClientUdp(40000);
  return {
    transport,
    server: {
      send: (d) => transport.receive(d),
      received: () => transport.sent,
      stop: () => void (transport.serverGone = true),
    },
    settle: () => new Promise((r) => setImmediate(r)),
    async dispose() {
      transport.close();
    },
  };
}

transportContract("FakeUdp", openFakeServerSide);
clientTransportContract("FakeClientUdp", openFakeClientSide);

describe("the fakes' full socket buffer (a short sendMany without a failing datagram)", () => {
  test("FakeUdp: the rest waits for drain, goes once, and nothing is sent twice", () => {
    const udp = new FakeUdp();
    udp.start({ datagram: () => {} });
    udp.sendManyLimit = 2;
    for (let i = 0; i < 5; i++) udp.queue(new Uint8Array([i]), PEER.port, PEER.address);
    udp.flush();
    expect(udp.sent.map((s) => s.data[0])).toEqual([0, 1]);
    udp.sendManyLimit = Infinity;
    udp.drain();
    expect(udp.sent.map((s) => s.data[0])).toEqual([0, 1, 2, 3, 4]);
    expect(udp.stats).toEqual({ sentDatagrams: 5, sendDrops: 0, socketErrors: 0 });
  });

  test("FakeClientUdp: what the one retry cannot send is dropped and counted", async () => {
    const t = new FakeClientUdp(40000);
    t.start({ datagram: () => {}, unreachable: () => {} });
    t.sendManyLimit = 1;
    for (let i = 0; i < 4; i++) t.queue(new Uint8Array([i]));
    t.flush();
    await new Promise((r) => setImmediate(r)); // the retry runs on the next turn: one more goes
    expect(t.sent.map((d) => d[0])).toEqual([0, 1]);
    expect(t.stats).toEqual({ sentDatagrams: 2, sendDrops: 2, socketErrors: 0 });
  });
});

describe.skipIf(unavailable !== null)("UdpTransport and ConnectedUdp in a network namespace (root)", () => {
  let ns = "";

  beforeAll(() => {
    deleteLeftovers();
    ns = createNetns("udp");
  });

  afterAll(() => {
    if (ns !== "") deleteNetns(ns);
  });

  test("pass the Transport and ClientTransport contract suites (udp-linux.suite.ts, run inside the namespace)", async () => {
    const r = await bunTestInNetns(ns, `${import.meta.dir}/udp-linux.suite.ts`);
    if (r.code !== 0 || r.failed > 0) console.error(r.output);
    expect(r.failed).toBe(0);
    expect(r.passed).toBe(11);
    expect(r.code).toBe(0);
  }, 120_000);
});

/**
 * @module test/contract/transport.case
 * The server Transport contract (src/transport/transport.ts) as one suite that every
 * implementation runs: FakeUdp in transport.contract.test.ts every time, UdpTransport in
 * udp-linux.suite.ts, which that file runs inside a fresh network namespace when root.
 *
 * The harness gives the transport a peer (a client's socket) and one destination a send
 * to must fail (for a socket bound to an IPv4 address: an IPv6 one). Bun's `sendMany`
 * stops at the first datagram it cannot send, so a batch with that destination in the
 * middle is a short send, deterministically.
 */

import { describe, expect, test } from "bun:test";
import type { Transport } from "../../src/transport/transport.ts";
import { MAX_BATCH } from "../../src/transport/udp-base.ts";
import { waitFor } from "../lib/wait.ts";

/** A client's socket talking to the transport under test. */
export interface Peer {
  /** Sends one datagram to the transport. */
  send(data: Uint8Array): void;
  /** Datagrams the peer received from the transport, in order (copies). */
  received(): Uint8Array[];
}

/** One implementation under test, opened (not started). */
export interface TransportHarness {
  readonly transport: Transport;
  readonly peer: Peer;
  /** Where sends fail (EAFNOSUPPORT for the real socket). */
  readonly unsendable: { address: string; port: number };
  /** Lets datagrams in flight land. */
  settle(): Promise<void>;
  /** Frees what the harness opened; closes the transport if the test did not. */
  dispose(): Promise<void>;
}

/** A sink that keeps copies of what arrives, with the sender's endpoint. */
function recorder(): { got: { data: Uint8Array; address: string; port: number }[]; datagram(d: Uint8Array, a: string, p: number): void } {
  const got: { data: Uint8Array; address: string; port: number }[] = [];
  return { got, datagram: (data, address, port) => void got.push({ data: data.slice(), address, port }) };
}

const bytes = (...b: number[]) => new Uint8Array(b);

/** Registers the contract tests for one implementation. */
export function transportContract(label: string, open: () => Promise<TransportHarness>): void {
  describe(`Transport contract: ${label}`, () => {
    const withTransport = async (body: (h: TransportHarness) => Promise<void>): Promise<void> => {
      const h = await open();
      try {
        await body(h);
      } finally {
        await h.dispose();
      }
    };

    test("delivers datagrams whole with the sender's endpoint; a reply to that endpoint reaches the sender", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.peer.send(bytes(0x45, 1, 2, 3));
        await waitFor("the datagram", () => sink.got.length > 0, { timeoutMs: 5000 });
        const from = sink.got[0];
        if (from === undefined) throw new Error("nothing arrived");
        expect(from.data).toEqual(bytes(0x45, 1, 2, 3));
        expect(h.transport.sendNow(bytes(9, 9), from.port, from.address)).toBe(true);
        await waitFor("the reply", () => h.peer.received().length > 0, { timeoutMs: 5000 });
        expect(h.peer.received()).toEqual([bytes(9, 9)]);
        expect(h.transport.stats.sentDatagrams).toBe(1);
      }));

    test("queue() then flush(): everything leaves in order; a flush with nothing queued sends nothing", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.peer.send(bytes(0));
        await waitFor("the peer's endpoint", () => sink.got.length > 0, { timeoutMs: 5000 });
        const { address, port } = sink.got[0] as { address: string; port: number };
        for (let i = 1; i <= 20; i++) expect(h.transport.queue(bytes(i, i), port, address)).toBe(true);
        expect(h.peer.received()).toEqual([]); // nothing leaves before flush()
        h.transport.flush();
        h.transport.flush();
        await waitFor("20 datagrams", () => h.peer.received().length >= 20, { timeoutMs: 5000 });
        await h.settle();
        expect(h.peer.received()).toEqual(Array.from({ length: 20 }, (_, k) => bytes(k + 1, k + 1)));
        expect(h.transport.stats).toEqual({ sentDatagrams: 20, sendDrops: 0, socketErrors: 0 });
      }));

    test("one batch holds MAX_BATCH datagrams: the rest are refused and counted", () =>
      withTransport(async (h) => {
        h.transport.start(recorder());
        const { address, port } = h.unsendable;
        const data = bytes(1);
        let accepted = 0;
        for (let i = 0; i < MAX_BATCH + 5; i++) if (h.transport.queue(data, port, address)) accepted++;
        expect(accepted).toBe(MAX_BATCH);
        expect(h.transport.stats.sendDrops).toBe(5);
      }));

    test("sendNow(): false and counted where a send fails", () =>
      withTransport(async (h) => {
        h.transport.start(recorder());
        expect(h.transport.sendNow(bytes(1), h.unsendable.port, h.unsendable.address)).toBe(false);
        expect(h.transport.stats).toEqual({ sentDatagrams: 0, sendDrops: 1, socketErrors: 0 });
      }));

    test("a short sendMany: the rest is retried once, each datagram is sent once or counted as dropped once", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.peer.send(bytes(0));
        await waitFor("the peer's endpoint", () => sink.got.length > 0, { timeoutMs: 5000 });
        const { address, port } = sink.got[0] as { address: string; port: number };
        h.transport.queue(bytes(1), port, address);
        h.transport.queue(bytes(2), h.unsendable.port, h.unsendable.address); // sendMany stops here
        h.transport.queue(bytes(3), port, address); // ... and this one goes in the retry
        h.transport.flush();
        await waitFor("the retry", () => h.transport.stats.sentDatagrams + h.transport.stats.sendDrops === 3, { timeoutMs: 5000 });
        await h.settle();
        expect(h.peer.received()).toEqual([bytes(1), bytes(3)]);
        expect(h.transport.stats).toEqual({ sentDatagrams: 2, sendDrops: 1, socketErrors: 0 });
      }));

    test("close(): sends fail and are counted, nothing is delivered after it, a second close is harmless", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.peer.send(bytes(0));
        await waitFor("the peer's endpoint", () => sink.got.length > 0, { timeoutMs: 5000 });
        const { address, port } = sink.got[0] as { address: string; port: number };
        h.transport.queue(bytes(1), port, address);
        h.transport.close();
        h.transport.flush(); // the queue went with the socket
        expect(h.transport.sendNow(bytes(2), port, address)).toBe(false);
        h.peer.send(bytes(3));
        await h.settle();
        expect(sink.got).toHaveLength(1);
        expect(h.peer.received()).toEqual([]);
        expect(h.transport.stats.sendDrops).toBe(1);
        expect(() => h.transport.close()).not.toThrow();
      }));
  });
}

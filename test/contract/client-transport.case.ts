/**
 * @module test/contract/client-transport.case
 * The ClientTransport contract (src/transport/client-udp.ts: one socket connected to the
 * server) as one suite that every implementation runs: FakeClientUdp in
 * transport.contract.test.ts every time, ConnectedUdp in udp-linux.suite.ts, which that
 * file runs inside a fresh network namespace when root. The harness plays the server.
 */

import { describe, expect, test } from "bun:test";
import type { ClientTransport } from "../../src/transport/client-udp.ts";
import { MAX_BATCH } from "../../src/transport/udp-base.ts";
import { waitFor } from "../lib/wait.ts";

/** The server end of the connection. */
export interface FakeServerEnd {
  /** Sends one datagram to the client's socket. */
  send(data: Uint8Array): void;
  /** Datagrams the server received, in order (copies). */
  received(): Uint8Array[];
  /** The server goes away: its port answers with ICMP port unreachable from now on. */
  stop(): void;
}

/** One implementation under test, opened (not started). */
export interface ClientTransportHarness {
  readonly transport: ClientTransport;
  readonly server: FakeServerEnd;
  /** Lets datagrams in flight land. */
  settle(): Promise<void>;
  /** Frees what the harness opened; closes the transport if the test did not. */
  dispose(): Promise<void>;
}

/** A sink that keeps copies of the datagrams and the unreachable reports. */
function recorder(): { got: Uint8Array[]; codes: string[]; datagram(d: Uint8Array): void; unreachable(c: string): void } {
  const got: Uint8Array[] = [];
  const codes: string[] = [];
  return { got, codes, datagram: (d) => void got.push(d.slice()), unreachable: (c) => void codes.push(c) };
}

const bytes = (...b: number[]) => new Uint8Array(b);

/** Registers the contract tests for one implementation. */
export function clientTransportContract(label: string, open: () => Promise<ClientTransportHarness>): void {
  describe(`ClientTransport contract: ${label}`, () => {
    const withTransport = async (body: (h: ClientTransportHarness) => Promise<void>): Promise<void> => {
      const h = await open();
      try {
        await body(h);
      } finally {
        await h.dispose();
      }
    };

    test("datagrams from the server arrive whole; queue() then flush() reaches the server in order", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        expect(h.transport.local.port).toBeGreaterThan(0);
        for (let i = 1; i <= 10; i++) expect(h.transport.queue(bytes(0x45, i))).toBe(true);
        expect(h.server.received()).toEqual([]);
        h.transport.flush();
        await waitFor("10 datagrams at the server", () => h.server.received().length >= 10, { timeoutMs: 5000 });
        expect(h.server.received()).toEqual(Array.from({ length: 10 }, (_, k) => bytes(0x45, k + 1)));
        h.server.send(bytes(0x60, 7, 7));
        await waitFor("the server's datagram", () => sink.got.length > 0, { timeoutMs: 5000 });
        expect(sink.got).toEqual([bytes(0x60, 7, 7)]);
        expect(h.transport.stats).toEqual({ sentDatagrams: 10, sendDrops: 0, socketErrors: 0 });
      }));

    test("one batch holds MAX_BATCH datagrams: the rest are refused and counted", () =>
      withTransport(async (h) => {
        h.transport.start(recorder());
        let accepted = 0;
        for (let i = 0; i < MAX_BATCH + 3; i++) if (h.transport.queue(bytes(1))) accepted++;
        expect(accepted).toBe(MAX_BATCH);
        expect(h.transport.stats.sendDrops).toBe(3);
      }));

    test("sendNow(): sent at once and counted", () =>
      withTransport(async (h) => {
        h.transport.start(recorder());
        expect(h.transport.sendNow(bytes(0, 0x73))).toBe(true);
        await waitFor("the datagram at the server", () => h.server.received().length > 0, { timeoutMs: 5000 });
        expect(h.server.received()).toEqual([bytes(0, 0x73)]);
        expect(h.transport.stats.sentDatagrams).toBe(1);
      }));

    test("the server gone: a send comes back as unreachable(ECONNREFUSED), counted as a socket error", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.server.stop();
        h.transport.sendNow(bytes(0));
        await waitFor("ECONNREFUSED", () => sink.codes.length > 0, { timeoutMs: 5000 });
        expect(sink.codes[0]).toBe("ECONNREFUSED");
        expect(h.transport.stats.socketErrors).toBeGreaterThanOrEqual(1);
      }));

    test("close(): sends fail and are counted, nothing reaches the sink after it, a second close is harmless", () =>
      withTransport(async (h) => {
        const sink = recorder();
        h.transport.start(sink);
        h.transport.queue(bytes(1));
        h.transport.close();
        h.transport.flush();
        expect(h.transport.sendNow(bytes(2))).toBe(false);
        h.server.send(bytes(0x45, 3));
        await h.settle();
        expect(sink.got).toEqual([]);
        expect(h.server.received()).toEqual([]);
        expect(h.transport.stats.sendDrops).toBe(1);
        expect(() => h.transport.close()).not.toThrow();
      }));
  });
}

/**
 * The server's lifecycle on fakes: a TUN read error is fatal (the server stops on its
 * own: sessions closed, doors and sockets closed, `failure` resolved with the error, so
 * the CLI exits 1), and stop() is idempotent.
 */
import { describe, expect, test } from "bun:test";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { icmpEcho4 } from "../fakes/packets.ts";
import { recordingLogger } from "../lib/log.ts";
import { startToyServer, type ToyRig } from "../lib/server-rig.ts";

const PHONES = [
  { address: "::ffff:192.0.2.10", port: 40001 },
  { address: "::ffff:192.0.2.20", port: 40002 },
];

function connectAll(r: ToyRig): void {
  for (const p of PHONES) r.udp.receive(buildHandshake("s3cret"), p.address, p.port);
}

describe("a TUN read error stops the server", () => {
  test("sessions closed as shutdown, transport and TUN closed, failure resolves with the error, one error line", async () => {
    const log = recordingLogger();
    const r = await startToyServer({ log });
    connectAll(r);
    expect(r.server.sessions.size).toBe(2);
    const downs: string[] = [];
    r.server.sessionListeners.push({ down: (s, reason) => downs.push(`${s.label} ${reason}`) });
    const settled: Error[] = [];
    void r.server.failure.then((e) => settled.push(e));

    const err = new Error("cannot read from fake0: EBADFD — interface fake0 was deleted (ip link del?)");
    r.tun.failRead(err);

    expect(await r.server.failure).toBe(err);
    expect(settled).toEqual([err]);
    expect(r.server.sessions.size).toBe(0);
    expect(downs).toEqual(["#1 shutdown", "#2 shutdown"]);
    expect(r.udp.closed).toBe(true);
    expect(r.tun.closed).toBe(true);
    expect(log.at("error")).toEqual([`tun fake0 failed, stopping: ${err.message}`]);
  });

  test("after the failure nothing moves: datagrams are not answered, no TUN writes, stop() is harmless", async () => {
    const r = await startToyServer();
    connectAll(r);
    r.tun.failRead(new Error("boom"));
    await r.server.failure;
    const sentBefore = r.udp.sent.length;
    r.udp.receive(buildHandshake("s3cret"), "::ffff:192.0.2.30", 40003); // the closed socket delivers nothing
    r.udp.receive(icmpEcho4({ src: "10.8.0.2", dst: "10.8.0.1", id: 1, seq: 1 }), PHONES[0]?.address ?? "", 40001);
    expect(r.udp.sent.length).toBe(sentBefore);
    expect(r.tun.written).toEqual([]);
    expect(() => r.server.stop()).not.toThrow();
    expect(r.server.sessions.size).toBe(0);
  });

  test("a sink that throws inside the router is a read error too (the device reports it once)", async () => {
    const r = await startToyServer();
    connectAll(r);
    const router = r.server.router; // the TUN's sink: make it throw as a bug would
    router.packet = () => {
      throw new Error("router bug");
    };
    r.tun.inject(icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.2", id: 1, seq: 1 }));
    const e = await r.server.failure;
    expect(e.message).toContain("packet handler threw: router bug");
    expect(r.server.sessions.size).toBe(0);
  });

  test("stop() twice closes everything once", async () => {
    const r = await startToyServer();
    connectAll(r);
    const downs: string[] = [];
    r.server.sessionListeners.push({ down: (_s, reason) => downs.push(reason) });
    r.server.stop();
    r.server.stop();
    expect(downs).toEqual(["shutdown", "shutdown"]);
    expect(r.udp.closed && r.tun.closed).toBe(true);
  });
});

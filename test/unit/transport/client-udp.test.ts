/**
 * @module client-udp.test
 * The client's connected socket on loopback (the one place tests may use the root
 * namespace): name resolution, IPv4 and IPv6, a batch leaving with one flush, server
 * datagrams arriving, and ICMP port unreachable reported as `unreachable()`.
 */
import { describe, expect, test } from "bun:test";
import { openClientUdp, resolveServer } from "../../../src/transport/client-udp.ts";
import { quietLogger } from "../../lib/log.ts";
import { waitFor } from "../../lib/wait.ts";


describe("resolveServer", () => {
  test("IP literals as they are, names through the system resolver", async () => {
    expect(await resolveServer("192.0.2.7", 8000)).toEqual({ address: "192.0.2.7", family: 4, port: 8000 });
    expect(await resolveServer("2001:db8::7", 8000)).toEqual({ address: "2001:db8::7", family: 6, port: 8000 });
    const local = await resolveServer("localhost", 8000);
    expect(["127.0.0.1", "::1"]).toContain(local.address);
  });

  test("an unknown name is a one-line error", async () => {
    await expect(resolveServer("no-such-host.invalid", 8000)).rejects.toThrow("cannot resolve server no-such-host.invalid");
  });
});

for (const [family, host] of [[4, "127.0.0.1"], [6, "::1"]] as const) {
  describe(`connected socket, IPv${family}`, () => {
    test("batch out with one flush, datagrams in, ICMP unreachable reported", async () => {
      const got: number[][] = [];
      const srv = await Bun.udpSocket({
        hostname: host,
        port: 0,
        binaryType: "uint8array",
        socket: {
          data(s, d, port, addr) {
            got.push([...d]);
            s.send(new Uint8Array([0x45, d.length]), port, addr);
          },
        },
      });
      const t = await openClientUdp({ address: host, family, port: srv.port }, quietLogger);
      const rx: number[][] = [];
      const unreachable: string[] = [];
      t.start({ datagram: (d) => rx.push([...d]), unreachable: (c) => unreachable.push(c) });
      expect(t.local.port).toBeGreaterThan(0);
      const a = new Uint8Array([0x45, 1, 2]);
      const b = new Uint8Array([0x60, 3]);
      expect(t.queue(a)).toBe(true);
      expect(t.queue(b)).toBe(true);
      t.flush();
      await waitFor("the server's replies", () => rx.length === 2);
      expect(got).toEqual([[0x45, 1, 2], [0x60, 3]]);
      expect(rx).toEqual([[0x45, 3], [0x45, 2]]);
      expect(t.stats.sentDatagrams).toBe(2);
      srv.close();
      t.sendNow(new Uint8Array([0]));
      await waitFor("ECONNREFUSED", () => unreachable.length > 0);
      expect(unreachable[0]).toBe("ECONNREFUSED");
      t.close();
      t.close();
      expect(t.sendNow(new Uint8Array([0]))).toBe(false);
    });
  });
}

/**
 * `warren client status` end to end without root: a client engine on fakes (sockets, host
 * configuration, manual clock) behind the real control socket (a Unix socket in a temp
 * folder, admin/client-control.ts), asked by the real CLI code (cli/client-status.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientStatus, type ClientStatusSource, serveClientControl } from "../../src/admin/client-control.ts";
import { Client } from "../../src/client/client.ts";
import { HANDSHAKE_WAIT_MS } from "../../src/client/timing.ts";
import { runClientStatus } from "../../src/cli/client-status.ts";
import { clientSocketPath, netnsId } from "../../src/platform/linux/client-state.ts";
import { buildParamsDatagram } from "../../src/protocol/toyvpn.ts";
import { FakeNet } from "../fakes/fake-client-net.ts";
import { FakeClientSockets } from "../fakes/fake-client-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { icmpEcho4, icmpEcho6 } from "../fakes/packets.ts";
import { quietLogger } from "../lib/log.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-client-status-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settle = () => new Promise<void>((r) => setTimeout(r, 0));

function rig(tun = "wc1") {
  const clock = new ManualClock();
  const sockets = new FakeClientSockets();
  const net = new FakeNet();
  const client = new Client(
    { credential: "s3cret:laptop", serverLabel: "vpn.example.org:8000", retry: Infinity },
    { openTransport: sockets.open, net, clock, log: quietLogger, random: () => 1 },
  );
  const src: ClientStatusSource = {
    client, version: "warren test", pid: 4242, tun, server: "vpn.example.org:8000", serverAddress: () => "192.0.2.1",
    routes: () => (client.state === "up" ? ["10.8.0.0/24 dev wc1"] : []), dnsApplied: false,
  };
  return { clock, sockets, net, client, src };
}

/** runClientStatus with captured output. */
async function status(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runClientStatus(argv, {}, { out: (l) => void out.push(l), err: (l) => void err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("the client's control socket", () => {
  const r = rig();
  const sock = join(dir, "ctl", "client.sock");

  test("a 0600 socket answers status while connecting, retrying, and up", async () => {
    const control = await serveClientControl(sock, r.src, r.clock, quietLogger);
    try {
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      const started = r.client.start();
      await settle();
      const json = async () => JSON.parse((await status("--control-socket", sock, "--json")).out) as ClientStatus;
      expect(await json()).toMatchObject({ state: "connecting", tun: "wc1", pid: 4242, addresses: [], mtu: null, lastError: null, lastHandshake: null, handshakes: 1 });

      r.clock.advance(HANDSHAKE_WAIT_MS);
      const retrying = await json();
      expect(retrying).toMatchObject({ state: "retrying", lastError: { message: expect.stringContaining("no answer from vpn.example.org:8000 within 5 s") } });
      expect((retrying.retryAt ?? 0) - retrying.time).toBeGreaterThan(0);
      expect((retrying.retryAt ?? 0) - retrying.time).toBeLessThanOrEqual(1000);
      const text = (await status("--control-socket", sock)).out;
      expect(text).toMatch(/^client wc1 \(pid 4242\): retrying in [01]s\n/);
      expect(text).toContain("  last error  no answer from vpn.example.org:8000 within 5 s (wrong secret, or no ToyVpn server there?) (0s ago)");

      r.clock.advance(1000);
      await settle();
      r.sockets.current.receive(buildParamsDatagram("m,1400 a,10.8.0.5,32 r,10.8.0.0,24 d,192.0.2.53"));
      await started;
      r.net.tun.inject(icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 1, payload: new Uint8Array(56) }));
      r.net.tun.inject(icmpEcho6({ src: "fe80::1", dst: "ff02::2", id: 1, seq: 1 }));
      r.sockets.current.receive(icmpEcho4({ src: "10.8.0.1", dst: "10.8.0.5", id: 1, seq: 1, type: 0, payload: new Uint8Array(56) }));
      const up = await json();
      expect(up).toMatchObject({
        state: "up", server: "vpn.example.org:8000", serverAddress: "192.0.2.1", addresses: ["10.8.0.5/32"], mtu: 1400, routes: ["10.8.0.0/24 dev wc1"],
        dns: { servers: ["192.0.2.53"], search: [], applied: false }, handshakes: 2, reconnects: 0, retryAt: null,
        transfer: { rxPackets: 1, rxBytes: 84, txPackets: 1, txBytes: 84 }, dropped: { whileDown: 0, ipv6: 1, junk: 0 },
      });
      expect(up.lastHandshake).toBe(up.upSince);
      expect(Math.abs((up.lastHandshake ?? 0) - up.time)).toBeLessThan(5000);
      const upText = (await status("--control-socket", sock)).out;
      expect(upText.split("\n")).toEqual([
        "client wc1 (pid 4242): up",
        "  server      vpn.example.org:8000 (192.0.2.1)",
        "  address     10.8.0.5/32, mtu 1400",
        "  routes      10.8.0.0/24 dev wc1",
        "  dns         192.0.2.53 (shown only)",
        expect.stringMatching(/^ {2}up since {4}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(0s ago\)$/),
        "  handshake   0s ago (2 sent, 0 reconnects)",
        "  transfer    84 B in (1 packets), 84 B out (1 packets)",
        "  dropped     1 IPv6 (no IPv6 address pushed)",
        expect.stringMatching(/^ {2}last error  no answer from .* \(1s ago\)$/),
      ]);
    } finally {
      control.stop();
      r.client.stop();
    }
    expect(existsSync(sock)).toBe(false);
    await expect(status("--control-socket", sock)).rejects.toThrow(`no warren client is running (no control socket at ${sock}; is it running? see warren client status --help)`);
  });

  test("a second client on the same socket is refused; a stale socket file is taken over", async () => {
    const a = rig();
    const path = join(dir, "same.sock");
    const first = await serveClientControl(path, a.src, a.clock, quietLogger);
    try {
      await expect(serveClientControl(path, rig().src, a.clock, quietLogger)).rejects.toThrow(
        `control socket ${path}: another warren (pid 4242) answers there; is another warren client running on this TUN in this network namespace?`,
      );
    } finally {
      first.stop();
    }
    const stale = join(dir, "stale.sock");
    const child = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(stale)}, socket: { data() {} } }); console.log("up"); setTimeout(() => {}, 60000);`], { stdout: "pipe" });
    const reader = child.stdout.getReader();
    await reader.read();
    child.kill("SIGKILL");
    await child.exited;
    expect(existsSync(stale)).toBe(true);
    const again = await serveClientControl(stale, a.src, a.clock, quietLogger);
    again.stop();
  });

  test("without --tun: every client of this namespace in the state folder; --tun and --json pick one", async () => {
    const state = join(dir, "state");
    const one = rig("wc1");
    const two = rig("wc2");
    const ns = netnsId();
    const c1 = await serveClientControl(clientSocketPath(state, "wc1", ns), one.src, one.clock, quietLogger);
    const c2 = await serveClientControl(clientSocketPath(state, "wc2", ns), two.src, two.clock, quietLogger);
    try {
      const all = await status("--state-dir", state);
      expect(all.out.split("\n").filter((l) => l.startsWith("client "))).toEqual(["client wc1 (pid 4242): connecting", "client wc2 (pid 4242): connecting"]);
      const list = JSON.parse((await status("--state-dir", state, "--json")).out) as ClientStatus[];
      expect(list.map((s) => s.tun)).toEqual(["wc1", "wc2"]);
      const named = JSON.parse((await status("--state-dir", state, "--tun", "wc2", "--json")).out) as ClientStatus;
      expect(named.tun).toBe("wc2");
    } finally {
      c1.stop();
      c2.stop();
    }
    await expect(status("--state-dir", state)).rejects.toThrow(`no warren client is running in this network namespace (no client control socket in ${state}; see --state-dir, --tun)`);
    await expect(status("--control-socket", "none")).rejects.toThrow('--control-socket: "none" means no control socket, and status needs one');
    await expect(status("extra")).rejects.toThrow('unexpected argument "extra" (see warren client status --help)');
    expect((await status("--help")).out).toContain("usage: warren client status");
  });
});

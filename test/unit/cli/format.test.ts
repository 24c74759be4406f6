/** cli/format: the status screen and the clients table. */
import { describe, expect, test } from "bun:test";
import { formatBytes, formatClients, formatDuration, formatStatus } from "../../../src/cli/format.ts";
import { client, snapshot } from "../../lib/snapshot-fixture.ts";

describe("format", () => {
  test("units", () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(2_500_000), formatBytes(50 * 1024 ** 3)]).toEqual(["0 B", "1023 B", "1.50 KiB", "2.38 MiB", "50.0 GiB"]);
    expect([formatDuration(7), formatDuration(250), formatDuration(3725), formatDuration(90_061)]).toEqual(["7s", "4m 10s", "1h 2m", "1d 1h"]);
  });

  test("status: the server block, then one block per client", () => {
    const text = formatStatus(snapshot([client(), client({ id: "tab", serial: 2, address: "10.8.0.3", drops: { spoofed: 2 }, capture: "/tmp/tab.pcap" })]));
    expect(text).toContain("warren 0.1.0 (commit dev, built dev), pid 4242");
    expect(text).toMatch(/^ {2}uptime {6}1d 1h \(since 2026-11-21 \d\d:\d\d:\d\d UTC\)$/m);
    expect(text).toContain("  pool        10.8.0.0/24: 2 / 253 used");
    expect(text).toContain("  handshakes  5 ok, 2 rejected, 0 refused, 10 duplicate");
    expect(text).toContain("  drops       spoofed 1, no-session 3");
    expect(text).toContain("  log         stderr");
    expect(text).toContain("\nclient phone1\n  endpoint   192.0.2.10:40001\n  address    10.8.0.2\n  protocol   toyvpn\n  connected  1h 2m ago; last seen 2s ago\n  transfer   1.46 KiB in (12 packets), 2.38 MiB out (10 packets)");
    expect(text).toContain("client tab");
    expect(text).toContain("  drops      spoofed 2");
    expect(text).toContain("  capture    /tmp/tab.pcap");
  });

  test("status: the data path, with the fast path's hand-overs; none from an older server", () => {
    const base = snapshot();
    const at = (dataPath: NonNullable<typeof base.status.dataPath>) => formatStatus({ ...base, status: { ...base.status, dataPath } });
    expect(at({ name: "simple", handoffs: 0, handoffDrops: 0 })).toMatch(/^ {2}data path {3}simple$/m);
    expect(at({ name: "fast (2 workers, coalescing, TSO)", handoffs: 22, handoffDrops: 0 })).toContain("  data path   fast (2 workers, coalescing, TSO); 22 packets handed to the main thread\n");
    expect(at({ name: "fast (1 worker, no offloads)", handoffs: 9, handoffDrops: 4 })).toContain("9 packets handed to the main thread, 4 dropped (queue full)");
    expect(formatStatus(base)).not.toContain("data path");
  });

  test("status: a door's silent drops by protocol and reason, only when there are some", () => {
    const base = snapshot();
    const at = (doorDrops: Record<string, number>) => formatStatus({ ...base, status: { ...base.status, doorDrops } });
    expect(at({ "wireguard:mac1": 3, "wireguard:replay": 0, "wireguard:decrypt": 2 })).toMatch(/^ {2}door drops {2}wireguard:mac1 3, wireguard:decrypt 2$/m);
    expect(at({ "wireguard:mac1": 0 })).not.toContain("door drops");
    expect(formatStatus(base)).not.toContain("door drops");
  });

  test("clients: header, aligned columns, numbers right-aligned", () => {
    const lines = formatClients(snapshot([client(), client({ id: "a-much-longer-id", address: "10.8.0.10", rxPackets: 123456 })])).split("\n");
    expect(lines[0]).toMatch(/^ID {15}\s*PROTO\s+ENDPOINT\s+ADDRESS\s+CONNECTED\s+LAST SEEN\s+IN PKTS\s+IN BYTES\s+OUT PKTS\s+OUT BYTES\s+DROPS$/);
    expect(lines.length).toBe(3);
    const col = (l: string | undefined) => (l ?? "").indexOf("192.0.2.10");
    expect(col(lines[1])).toBe(col(lines[2]));
    expect(col(lines[1])).toBe((lines[0] ?? "").indexOf("ENDPOINT"));
    const end = (l: string | undefined, s: string) => (l ?? "").indexOf(s) + s.length;
    expect(end(lines[1], " 12 ")).toBe(end(lines[2], " 123456 "));
    expect(formatClients(snapshot([]))).toBe("no clients connected");
  });
});

describe("format: protocol and idle", () => {
  test("clients: a PROTO column; an idle session says so in LAST SEEN", () => {
    const snap = snapshot([client(), client({ id: "wg1", protocol: "wireguard", address: "10.8.0.3", lastSeen: snapshot().time - 75_000, idle: true })]);
    const lines = formatClients(snap).split("\n");
    expect(lines[0]).toMatch(/^ID\s+PROTO\s+ENDPOINT\s/);
    expect(lines[1]).toMatch(/^phone1\s+toyvpn\s+192\.0\.2\.10:40001\s+10\.8\.0\.2\s+1h 2m ago\s+2s ago\s+12\s/);
    expect(lines[2]).toMatch(/^wg1\s+wireguard\s+192\.0\.2\.10:40001\s+10\.8\.0\.3\s+1h 2m ago\s+1m 15s ago \(idle\)\s+12\s/);
  });

  test("status: the client block names the protocol and marks idle", () => {
    const text = formatStatus(snapshot([client({ protocol: "wireguard", lastSeen: snapshot().time - 60_000, idle: true })]));
    expect(text).toContain("  protocol   wireguard\n  connected  1h 2m ago; last seen 1m 0s ago (idle)\n");
  });
});

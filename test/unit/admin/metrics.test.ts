/** admin/metrics: the text format, checked by a strict parser and by `promtool check metrics`, and escaping. */
import { describe, expect, test } from "bun:test";
import { COMMIT, VERSION } from "../../../src/lib/version.ts";
import { escapeLabel, formatValue, metricsText } from "../../../src/admin/metrics.ts";
import { parseExposition, valueOf } from "../../lib/prom-text.ts";
import { client, drops, snapshot } from "../../lib/snapshot-fixture.ts";

/** promtool from Debian's prometheus package (test/setup.sh installs it as root). */
const PROMTOOL = Bun.which("promtool");
if (!PROMTOOL) console.warn("\n*** SKIPPING promtool check metrics: no promtool (apt-get install prometheus) ***\n");

describe("metrics text", () => {
  test("parses strictly; every family has HELP and TYPE; values match the snapshot", () => {
    const snap = snapshot([client(), client({ id: "#7", serial: 7, deviceId: null, address: "10.8.0.3", rxBytes: 9, txPackets: 3 })]);
    const text = metricsText(snap);
    const f = parseExposition(text);
    expect(valueOf(f, "warren_sessions")).toBe(2);
    expect(valueOf(f, "warren_pool_addresses")).toBe(253);
    expect(valueOf(f, "warren_pool_used")).toBe(2);
    expect(valueOf(f, "warren_receive_bytes_total", { client: "phone1" })).toBe(1500);
    expect(valueOf(f, "warren_receive_bytes_total", { client: "#7" })).toBe(9);
    expect(valueOf(f, "warren_transmit_packets_total", { client: "#7" })).toBe(3);
    expect(valueOf(f, "warren_drops_total", { reason: "no-session" })).toBe(3);
    expect(valueOf(f, "warren_handshakes_total", { result: "rejected" })).toBe(2);
    expect(valueOf(f, "warren_handshake_rejections_total", { reason: "bad-secret" })).toBe(2);
    expect(valueOf(f, "warren_handshake_rejections_total", { reason: "rate-limited" })).toBe(1);
    expect(valueOf(f, "process_start_time_seconds")).toBe(snap.status.startedAt / 1000);
    expect(f.get("warren_receive_bytes_total")?.type).toBe("counter");
    expect(f.get("warren_sessions")?.type).toBe("gauge");
    for (const fam of f.values()) expect(fam.help.length).toBeGreaterThan(0);
  });

  test("per-client drops by reason, only the reasons that happened", () => {
    const f = parseExposition(metricsText(snapshot([client({ drops: drops({ spoofed: 4, "link-local": 2 }) }), client({ id: "quiet", serial: 9 })])));
    expect(valueOf(f, "warren_client_drops_total", { client: "phone1", reason: "spoofed" })).toBe(4);
    expect(valueOf(f, "warren_client_drops_total", { client: "phone1", reason: "link-local" })).toBe(2);
    expect(f.get("warren_client_drops_total")?.samples.length).toBe(2);
    expect(f.get("warren_client_drops_total")?.type).toBe("counter");
  });

  test("no clients: per-client families are present but empty", () => {
    const f = parseExposition(metricsText(snapshot([])));
    expect(f.get("warren_receive_bytes_total")?.samples).toEqual([]);
    expect(valueOf(f, "warren_sessions")).toBe(0);
  });

  test("label values are escaped, and the parser reads them back", () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const nasty = 'dev"\\\n}';
    const f = parseExposition(metricsText(snapshot([client({ id: nasty })])));
    expect(valueOf(f, "warren_receive_bytes_total", { client: nasty })).toBe(1500);
  });

  test("special values", () => {
    expect([formatValue(NaN), formatValue(Infinity), formatValue(-Infinity), formatValue(1.5)]).toEqual(["NaN", "+Inf", "-Inf", "1.5"]);
  });

  test("the strict parser rejects what the format forbids", () => {
    const bad = [
      "warren_x 1\n", // no HELP/TYPE
      "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v} 1\n",
      "# HELP a x\n# TYPE a counter\na 1\n", // counter without _total
      "# HELP a x\n# TYPE a gauge\na 1\na 2\n", // duplicate series
      "# HELP a x\n# TYPE a gauge\na  1\n",
      "# HELP a x\n# TYPE a gauge\na 1", // no final newline
      "# HELP a x\n# TYPE a gauge\na{x=\"\\t\"} 1\n",
    ];
    for (const t of bad) expect(() => parseExposition(t)).toThrow();
  });

  test("Prometheus conventions: build info in parts, who a client is as one info series, last seen as a timestamp", () => {
    const snap = snapshot([client({ user: "alice", lastSeen: 1_795_000_000_500 }), client({ id: "#7", serial: 7, deviceId: null, address: "10.8.0.3", endpoint: "[2001:db8::9]:5" })]);
    const f = parseExposition(metricsText(snap));
    expect(f.get("warren_build_info")?.samples).toEqual([{ name: "warren_build_info", labels: { version: VERSION, revision: COMMIT }, value: 1 }]);
    expect(f.get("warren_client_info")?.samples.map((x) => x.labels)).toEqual([
      { client: "phone1", address: "10.8.0.2", endpoint: "192.0.2.10:40001", user: "alice", protocol: "toyvpn" },
      { client: "#7", address: "10.8.0.3", endpoint: "[2001:db8::9]:5", user: "", protocol: "toyvpn" },
    ]);
    expect(f.get("warren_client_info")?.samples.every((x) => x.value === 1)).toBe(true);
    expect(valueOf(f, "warren_client_last_seen_timestamp_seconds", { client: "phone1" })).toBe(1_795_000_000.5);
    expect(f.has("warren_client_last_seen_seconds")).toBe(false);
    snap.status.build = { version: "9.9.9", revision: "abc1234", date: "2026-01-01" };
    expect(valueOf(parseExposition(metricsText(snap)), "warren_build_info", { version: "9.9.9", revision: "abc1234" })).toBe(1);
  });

  test("process_* metrics when the snapshot has process stats (unknown fds left out)", () => {
    const snap = snapshot();
    expect(parseExposition(metricsText(snap)).has("process_cpu_seconds_total")).toBe(false);
    snap.status.process = { cpuSeconds: 12.5, residentBytes: 50_000_000, openFds: 17, maxFds: 1024 };
    const f = parseExposition(metricsText(snap));
    expect([valueOf(f, "process_cpu_seconds_total"), valueOf(f, "process_resident_memory_bytes"), valueOf(f, "process_open_fds"), valueOf(f, "process_max_fds")]).toEqual([12.5, 50_000_000, 17, 1024]);
    expect(f.get("process_cpu_seconds_total")?.type).toBe("counter");
    snap.status.process = { cpuSeconds: 1, residentBytes: 1, openFds: null, maxFds: null };
    const g = parseExposition(metricsText(snap));
    expect([g.has("process_open_fds"), g.has("process_max_fds"), g.has("process_resident_memory_bytes")]).toEqual([false, false, true]);
  });

  test("a door's silent drops, by protocol and reason", () => {
    const snap = snapshot();
    snap.status.doorDrops = { "wireguard:mac1": 5, "wireguard:unknown-index": 2 };
    const f = parseExposition(metricsText(snap));
    expect(valueOf(f, "warren_door_drops_total", { protocol: "wireguard", reason: "mac1" })).toBe(5);
    expect(valueOf(f, "warren_door_drops_total", { protocol: "wireguard", reason: "unknown-index" })).toBe(2);
    expect(f.get("warren_door_drops_total")?.type).toBe("counter");
    expect(parseExposition(metricsText(snapshot())).get("warren_door_drops_total")?.samples).toEqual([]);
  });

  test("the data path and its hand-overs, when the server reports them", () => {
    const snap = snapshot();
    expect(parseExposition(metricsText(snap)).has("warren_data_path_info")).toBe(false);
    snap.status.dataPath = { name: "fast (2 workers, coalescing, TSO)", handoffs: 22, handoffDrops: 4 };
    const f = parseExposition(metricsText(snap));
    expect(valueOf(f, "warren_data_path_info", { path: "fast (2 workers, coalescing, TSO)" })).toBe(1);
    expect(valueOf(f, "warren_data_path_handoffs_total")).toBe(22);
    expect(valueOf(f, "warren_data_path_handoff_drops_total")).toBe(4);
    expect(f.get("warren_data_path_handoffs_total")?.type).toBe("counter");
  });

  test.skipIf(!PROMTOOL)("promtool check metrics finds nothing to lint", async () => {
    const snap = snapshot([client({ drops: drops({ spoofed: 1 }) }), client({ id: 'odd"id\\', serial: 9, user: "bob" })]);
    snap.status.process = { cpuSeconds: 3, residentBytes: 4096, openFds: 9, maxFds: 1024 };
    snap.status.dataPath = { name: "fast (2 workers, coalescing, TSO)", handoffs: 22, handoffDrops: 0 };
    snap.status.doorDrops = { "wireguard:replay": 1 };
    const p = Bun.spawn([PROMTOOL as string, "check", "metrics"], { stdin: new TextEncoder().encode(metricsText(snap)), stdout: "pipe", stderr: "pipe" });
    const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({ code, out, err }).toEqual({ code: 0, out: "", err: "" });
  });
});


/** admin/metrics: the text format, checked by a strict parser, and escaping. */
import { describe, expect, test } from "bun:test";
import { escapeLabel, formatValue, metricsText } from "../../../src/admin/metrics.ts";
import { parseExposition, valueOf } from "../../lib/prom-text.ts";
import { client, drops, snapshot } from "../../lib/snapshot-fixture.ts";

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
});

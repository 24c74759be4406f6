/** lib/log-format and lineLogger: the three line shapes, event fields, folding. */
import { describe, expect, test } from "bun:test";
import { lineLogger } from "../../../src/lib/log.ts";
import { logEvent } from "../../../src/lib/log-event.ts";
import { formatLine, messageOf, priorityOf } from "../../../src/lib/log-format.ts";

const date = new Date(Date.UTC(2026, 10, 22, 5, 3, 51, 123));
const ev = logEvent("handshake-rejected", { endpoint: { src: "192.0.2.7", port: 5555 }, reason: "bad-secret", user: undefined }, "handshake rejected from 192.0.2.7:5555 reason=bad-secret");

describe("formatLine", () => {
  test("text: ISO time, padded level, tag, the message as always (an event prints its message only)", () => {
    expect(formatLine({ date, type: "warn", tag: "warren", args: [ev] }, { shape: "text", journal: false })).toBe(
      "2026-11-22T05:03:51.123Z WARN  [warren] handshake rejected from 192.0.2.7:5555 reason=bad-secret\n",
    );
    expect(formatLine({ date, type: "info", tag: "", args: ["a", 3, { b: 1 }] }, { shape: "text", journal: false })).toBe('2026-11-22T05:03:51.123Z INFO  [warren] a 3 {"b":1}\n');
  });

  test("json: time, level, tag, event, the fields (undefined ones left out), msg", () => {
    const line = formatLine({ date, type: "warn", tag: "warren:auth", args: [ev] }, { shape: "json", journal: false });
    expect(line.endsWith("}\n")).toBe(true);
    expect(JSON.parse(line)).toEqual({
      t: "2026-11-22T05:03:51.123Z", level: "warn", tag: "warren:auth", event: "handshake-rejected",
      endpoint: { src: "192.0.2.7", port: 5555 }, reason: "bad-secret", msg: "handshake rejected from 192.0.2.7:5555 reason=bad-secret",
    });
    expect(Object.keys(JSON.parse(line))).toEqual(["t", "level", "tag", "event", "endpoint", "reason", "msg"]);
  });

  test("json: a plain line has no event; fields cannot overwrite t, level, tag or msg", () => {
    expect(JSON.parse(formatLine({ date, type: "debug", tag: "warren", args: ["x"] }, { shape: "json", journal: false }))).toEqual({ t: date.toISOString(), level: "debug", tag: "warren", msg: "x" });
    const sneaky = logEvent("e", { msg: "forged", level: "error", t: 0, n: 1 }, "real");
    expect(JSON.parse(formatLine({ date, type: "info", tag: "warren", args: [sneaky] }, { shape: "json", journal: false }))).toEqual({ t: date.toISOString(), level: "info", tag: "warren", event: "e", n: 1, msg: "real" });
  });

  test("journal: <N> syslog priority, no time of our own, every line of a multi-line message prefixed", () => {
    const j = { shape: "text", journal: true } as const;
    expect(formatLine({ date, type: "warn", tag: "warren", args: [ev] }, j)).toBe("<4>[warren] handshake rejected from 192.0.2.7:5555 reason=bad-secret\n");
    expect(formatLine({ date, type: "info", tag: "warren:udp", args: ["up"] }, j)).toBe("<6>[warren:udp] up\n");
    expect(formatLine({ date, type: "error", tag: "warren", args: ["boom\n  at f (x.ts:1)"] }, j)).toBe("<3>[warren] boom\n<3>  at f (x.ts:1)\n");
    expect(formatLine({ date, type: "debug", tag: "warren", args: ["d"] }, j)).toBe("<7>[warren] d\n");
    const jj = formatLine({ date, type: "warn", tag: "warren", args: [ev] }, { shape: "json", journal: true });
    expect(jj.startsWith('<4>{"t":')).toBe(true);
    expect(JSON.parse(jj.slice(3)).event).toBe("handshake-rejected");
  });

  test("priorities follow sd-daemon.h; messages of errors are their text", () => {
    expect(["fatal", "error", "warn", "info", "success", "log", "debug", "trace"].map(priorityOf)).toEqual([2, 3, 4, 6, 6, 6, 7, 7]);
    expect(messageOf([new Error("bad thing"), "x"])).toBe("bad thing x");
  });
});

describe("lineLogger (the real consola pipeline)", () => {
  test("identical lines are folded into one `(repeated N times)` line that keeps the address; json says repeated", async () => {
    for (const shape of ["text", "json"] as const) {
      const lines: string[] = [];
      const log = lineLogger("warren", { shape, journal: false }, (l) => lines.push(l));
      for (let i = 0; i < 12; i++) log.warn(ev);
      log.info("something else");
      const rejected = lines.filter((l) => l.includes("handshake rejected"));
      // consola passes the first 6 and folds the other 6 into one summary line
      expect(rejected.length).toBe(7);
      const summary = rejected[6] as string;
      if (shape === "json") expect(JSON.parse(rejected[0] as string)).toMatchObject({ event: "handshake-rejected", reason: "bad-secret" });
      if (shape === "text") expect(summary).toMatch(/WARN {2}\[warren\] handshake rejected from 192\.0\.2\.7:5555 reason=bad-secret \(repeated 6 times\)\n$/);
      else expect(JSON.parse(summary)).toMatchObject({ event: "handshake-rejected", endpoint: { src: "192.0.2.7", port: 5555 }, repeated: 6, msg: "handshake rejected from 192.0.2.7:5555 reason=bad-secret (repeated 6 times)" });
    }
  });

  test("any logger prints an event as its message", () => {
    expect(String(ev)).toBe("handshake rejected from 192.0.2.7:5555 reason=bad-secret");
    expect(`${ev}`).toBe(ev.message);
  });
});

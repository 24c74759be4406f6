/**
 * @module lib/log-format
 * One log record to one output line, pure. Three shapes:
 *
 *   text     `2026-11-22T05:03:51.123Z WARN  [warren] handshake rejected from ...`
 *   json     `{"t":"...","level":"warn","tag":"warren","event":"handshake-rejected",
 *            "endpoint":{"src":"192.0.2.7","port":5555},"reason":"bad-secret","msg":"..."}`
 *   journal  `<4>[warren] handshake rejected from ...`: under systemd stderr is the
 *            journal, which stamps the time itself and reads the `<N>` syslog priority
 *            (sd-daemon(3)), so `journalctl -p warning` filters. Every line of a
 *            multi-line message carries the prefix. json under the journal is prefixed too.
 *
 * consola folds identical lines into one `... (repeated N times)`; the text shapes keep
 * that suffix, json also says `"repeated":N`.
 */

import { LogEvent } from "./log-event.ts";

/** What a reporter gets from consola (the part used here). */
export interface LogRecord {
  date: Date;
  type: string;
  tag: string;
  args: readonly unknown[];
}

/** How lines look: the shape, and whether stderr is the systemd journal. */
export interface LineStyle {
  shape: "text" | "json";
  journal: boolean;
}

const LABEL: Record<string, string> = { fatal: "ERROR", error: "ERROR", warn: "WARN", info: "INFO", success: "INFO", ready: "INFO", start: "INFO", log: "INFO", debug: "DEBUG", trace: "TRACE", box: "INFO" };

/** syslog priorities (sd-daemon.h SD_ERR ... SD_DEBUG). */
const PRIORITY: Record<string, number> = { fatal: 2, error: 3, warn: 4, debug: 7, trace: 7 };
/** Priority of anything else (info and its aliases). */
const PRIORITY_INFO = 6;

/** Keys json lines own; fields of the same name are left out. */
const RESERVED = new Set(["t", "level", "tag", "event", "msg", "repeated"]);
const REPEATED = /^\(repeated (\d+) times\)$/;

/** The syslog priority of a consola log type: error 3, warn 4, info 6, debug and trace 7. */
export function priorityOf(type: string): number {
  return PRIORITY[type] ?? PRIORITY_INFO;
}

/** The upper-case level label of a consola log type (`WARN`). */
export function labelOf(type: string): string {
  return LABEL[type] ?? type.toUpperCase();
}

/** The message: strings as they are, an event's message, an Error's message, anything else as JSON. */
export function messageOf(args: readonly unknown[]): string {
  return args
    .map((a) => (typeof a === "string" ? a : a instanceof LogEvent ? a.message : a instanceof Error ? a.message : JSON.stringify(a)))
    .join(" ");
}

/** The record as one line (with its newline) in `style`. */
export function formatLine(o: LogRecord, style: LineStyle): string {
  const tag = o.tag || "warren";
  if (style.shape === "json") {
    const line = JSON.stringify(jsonOf(o, tag));
    return style.journal ? `<${priorityOf(o.type)}>${line}\n` : `${line}\n`;
  }
  const text = messageOf(o.args);
  if (!style.journal) return `${o.date.toISOString()} ${labelOf(o.type).padEnd(5)} [${tag}] ${text}\n`;
  const p = `<${priorityOf(o.type)}>`;
  return `${`[${tag}] ${text}`.split("\n").map((l) => p + l).join("\n")}\n`;
}

function jsonOf(o: LogRecord, tag: string): Record<string, unknown> {
  const out: Record<string, unknown> = { t: o.date.toISOString(), level: labelOf(o.type).toLowerCase(), tag };
  const ev = o.args.find((a): a is LogEvent => a instanceof LogEvent);
  if (ev !== undefined) {
    out.event = ev.event;
    for (const [k, v] of Object.entries(ev.fields)) if (v !== undefined && !RESERVED.has(k)) out[k] = v;
  }
  const last = o.args[o.args.length - 1];
  const rep = typeof last === "string" ? REPEATED.exec(last) : null;
  if (rep !== null) out.repeated = Number(rep[1]);
  out.msg = messageOf(o.args);
  return out;
}

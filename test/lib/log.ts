/**
 * @module test/lib/log
 * The one recording logger of the tests: keeps every line as `level message`, and a
 * quiet logger for tests that do not look at logs.
 */

import type { Logger } from "../../src/lib/log.ts";

/** A Logger that keeps its lines. */
export interface RecordingLogger extends Logger {
  /** Every line, as `level message args...`. */
  readonly lines: string[];
  /** Lines of one level (messages only, without the level). */
  at(level: "error" | "warn" | "info" | "debug" | "trace"): string[];
  /** True when some line contains every one of `parts`. */
  has(...parts: string[]): boolean;
}

/** A fresh recording logger. */
export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const rec = (level: string) => (m: unknown, ...a: unknown[]) => void lines.push(`${level} ${[m, ...a].map(String).join(" ")}`);
  return {
    lines,
    error: rec("error"),
    warn: rec("warn"),
    info: rec("info"),
    debug: rec("debug"),
    trace: rec("trace"),
    at: (level) => lines.filter((l) => l.startsWith(`${level} `)).map((l) => l.slice(level.length + 1)),
    has: (...parts) => lines.some((l) => parts.every((p) => l.includes(p))),
  };
}

/** A logger that drops everything. */
export const quietLogger: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {} };

/**
 * @module log
 * One consola root for the whole process, tagged children per subsystem, and one
 * level setter that reaches all of them (consola's `withTag` copies options, so a
 * level set on the parent later would not reach existing children).
 *
 * Formats: `fancy` (consola's colored reporter, for a TTY), `text` (one plain line
 * with an ISO time, level and tag), `json` (one JSON object per line). Everything
 * goes to stderr unless a file stream is given, so stdout stays for command output.
 */

import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import { RotatingFile } from "./logfile.ts";

/** Level names warren accepts, in order of verbosity. */
export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const;
/** One of LOG_LEVELS. */
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** Output formats. */
export type LogFormat = "fancy" | "text" | "json";

const CONSOLA_LEVEL: Record<LogLevelName, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/** The logger interface the rest of warren uses. */
export interface Logger {
  error(message: unknown, ...args: unknown[]): void;
  warn(message: unknown, ...args: unknown[]): void;
  info(message: unknown, ...args: unknown[]): void;
  debug(message: unknown, ...args: unknown[]): void;
  trace(message: unknown, ...args: unknown[]): void;
}

/** Where log lines go: a write function (stderr by default). */
export type LogSink = (line: string) => void;

const state: {
  level: LogLevelName;
  format: LogFormat;
  sink: LogSink;
  instances: Set<ConsolaInstance>;
  file: RotatingFile | null;
} = {
  level: "info",
  format: process.stderr.isTTY ? "fancy" : "text",
  sink: (line) => process.stderr.write(line),
  instances: new Set(),
  file: null,
};

function textOf(o: LogObject): string {
  return o.args
    .map((a) => (a instanceof Error ? a.message : typeof a === "string" ? a : JSON.stringify(a)))
    .join(" ");
}

const TYPE_LABEL: Record<string, string> = { fatal: "ERROR", error: "ERROR", warn: "WARN", info: "INFO", success: "INFO", ready: "INFO", start: "INFO", log: "INFO", debug: "DEBUG", trace: "TRACE", box: "INFO" };

const lineReporter = {
  log(o: LogObject): void {
    if (state.format === "json") {
      state.sink(JSON.stringify({ t: o.date.toISOString(), level: TYPE_LABEL[o.type]?.toLowerCase() ?? o.type, tag: o.tag || "warren", msg: textOf(o) }) + "\n");
    } else {
      const label = (TYPE_LABEL[o.type] ?? o.type.toUpperCase()).padEnd(5);
      state.sink(`${o.date.toISOString()} ${label} [${o.tag || "warren"}] ${textOf(o)}\n`);
    }
  },
};

function make(tag: string): ConsolaInstance {
  const level = CONSOLA_LEVEL[state.level];
  const base =
    state.format === "fancy"
      ? createConsola({ level, fancy: true, stdout: process.stderr, stderr: process.stderr })
      : createConsola({ level, fancy: false, reporters: [lineReporter] });
  const inst = base.withTag(tag);
  state.instances.add(inst);
  return inst;
}

const loggers = new Map<string, { current: ConsolaInstance }>();

/**
 * A logger for one subsystem (`warren`, `warren:tun`, ...). The returned object stays
 * valid across `configureLogging` calls.
 */
export function getLogger(tag = "warren"): Logger {
  let ref = loggers.get(tag);
  if (!ref) loggers.set(tag, (ref = { current: make(tag) }));
  const r = ref;
  return {
    error: (m, ...a) => r.current.error(m, ...a),
    warn: (m, ...a) => r.current.warn(m, ...a),
    info: (m, ...a) => r.current.info(m, ...a),
    debug: (m, ...a) => r.current.debug(m, ...a),
    trace: (m, ...a) => r.current.trace(m, ...a),
  };
}

/** Sets the level for every logger, existing and future. */
export function setLogLevel(level: LogLevelName): void {
  state.level = level;
  for (const i of state.instances) i.level = CONSOLA_LEVEL[level];
}

/** Current level name. */
export function getLogLevel(): LogLevelName {
  return state.level;
}

/** A log file with size-based rotation (see logfile.ts). */
export interface LogFileSpec {
  path: string;
  maxSize: number;
  keep: number;
}

/**
 * Changes format and/or sink; existing loggers are rebuilt. `file` opens a rotating log
 * file and makes it the sink (throws a one-line error when it cannot be opened).
 */
export function configureLogging(opts: { level?: LogLevelName; format?: "text" | "json" | "auto"; sink?: LogSink; file?: LogFileSpec }): void {
  if (opts.file) {
    const f = new RotatingFile(opts.file.path, opts.file.maxSize, opts.file.keep);
    state.file?.close();
    state.file = f;
    opts = { ...opts, sink: (line) => f.write(line) };
  } else if (opts.sink && state.file) {
    state.file.close();
    state.file = null;
  }
  if (opts.format !== undefined) {
    state.format = opts.format === "auto" ? (process.stderr.isTTY && !opts.sink ? "fancy" : "text") : opts.format;
  }
  if (opts.sink) {
    state.sink = opts.sink;
    if (state.format === "fancy") state.format = "text";
  }
  if (opts.level) state.level = opts.level;
  state.instances.clear();
  for (const [tag, ref] of loggers) ref.current = make(tag);
}

/** The log file in use and its current size, or null when logging to stderr. */
export function logFileInfo(): { path: string; size: number; maxSize: number; keep: number } | null {
  const f = state.file;
  return f ? { path: f.path, size: f.size, maxSize: f.maxSize, keep: f.keep } : null;
}

/**
 * Rate limiter for repetitive log lines: at most `perSecond` pass; the number
 * suppressed is reported with the next line that passes.
 */
export class LogLimiter {
  readonly #perSecond: number;
  #windowStart = 0;
  #count = 0;
  #suppressed = 0;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
  }

  /** Returns -1 to suppress, else how many lines were suppressed before this one. */
  take(now: number): number {
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (this.#count >= this.#perSecond) {
      this.#suppressed++;
      return -1;
    }
    this.#count++;
    const s = this.#suppressed;
    this.#suppressed = 0;
    return s;
  }
}

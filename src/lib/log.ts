/**
 * @module log
 * One consola root for the whole process, tagged children per subsystem, and one
 * level setter that reaches all of them (consola's `withTag` copies options, so a
 * level set on the parent later would not reach existing children).
 *
 * Formats: `fancy` (consola's colored reporter, for a TTY), `text` (one plain line
 * with an ISO time, level and tag), `json` (one JSON object per line, with the fields
 * of a LogEvent). When stderr is the systemd journal (JOURNAL_STREAM names it), text
 * lines carry a `<N>` priority and no time of their own (log-format.ts). Everything
 * goes to stderr unless a file is given, so stdout stays for command output.
 */

import { fstatSync } from "node:fs";
import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import { LogEvent } from "./log-event.ts";
import { formatLine, type LineStyle } from "./log-format.ts";
import { RotatingFile } from "./logfile.ts";

/** Level names warren accepts, in order of verbosity. */
export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug", "trace"] as const;
/** One of LOG_LEVELS. */
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** Output formats. */
export type LogFormat = "fancy" | "text" | "json";

const CONSOLA_LEVEL: Record<LogLevelName, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

/** The logger interface the rest of warren uses. A LogEvent may be the message (log-event.ts). */
export interface Logger {
  error(message: unknown, ...args: unknown[]): void;
  warn(message: unknown, ...args: unknown[]): void;
  info(message: unknown, ...args: unknown[]): void;
  debug(message: unknown, ...args: unknown[]): void;
  trace(message: unknown, ...args: unknown[]): void;
}

/** Where log lines go: a write function (stderr by default). */
export type LogSink = (line: string) => void;

/**
 * True when file descriptor `fd` (stderr) is the stream systemd connected to the journal:
 * JOURNAL_STREAM is `<st_dev>:<st_ino>` of it (systemd.exec(5)), checked as sd-daemon does,
 * so a redirected stderr of a child is not mistaken for the journal.
 */
export function isJournalStream(env: Record<string, string | undefined> = process.env, fd = 2): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? "");
  if (m === null) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(m[1] as string) && st.ino === BigInt(m[2] as string);
  } catch {
    return false;
  }
}

const journal = isJournalStream();
const defaultSink: LogSink = (line) => void process.stderr.write(line);

const state: {
  level: LogLevelName;
  format: LogFormat;
  /** True while lines go to stderr and stderr is the journal. */
  journal: boolean;
  sink: LogSink;
  instances: Set<ConsolaInstance>;
  file: RotatingFile | null;
} = {
  level: "info",
  format: process.stderr.isTTY && !journal ? "fancy" : "text",
  journal,
  sink: defaultSink,
  instances: new Set(),
  file: null,
};

/** A consola reporter writing formatted lines; style and sink are read per line. */
function lineReporter(style: () => LineStyle, sink: () => LogSink) {
  return { log: (o: LogObject) => sink()(formatLine(o, style())) };
}

const globalReporter = lineReporter(
  () => ({ shape: state.format === "json" ? "json" : "text", journal: state.journal }),
  () => state.sink,
);

function make(tag: string): ConsolaInstance {
  const level = CONSOLA_LEVEL[state.level];
  const base =
    state.format === "fancy"
      ? createConsola({ level, fancy: true, stdout: process.stderr, stderr: process.stderr })
      : createConsola({ level, fancy: false, reporters: [globalReporter] });
  const inst = base.withTag(tag);
  state.instances.add(inst);
  return inst;
}

const loggers = new Map<string, { current: ConsolaInstance }>();

/** consola's fancy reporter would inspect an event object: give it the message. */
function plain(m: unknown): unknown {
  return state.format === "fancy" && m instanceof LogEvent ? m.message : m;
}

/**
 * A logger for one subsystem (`warren`, `warren:tun`, ...). The returned object stays
 * valid across `configureLogging` calls.
 */
export function getLogger(tag = "warren"): Logger {
  let ref = loggers.get(tag);
  if (!ref) loggers.set(tag, (ref = { current: make(tag) }));
  const r = ref;
  return {
    error: (m, ...a) => r.current.error(plain(m), ...a),
    warn: (m, ...a) => r.current.warn(plain(m), ...a),
    info: (m, ...a) => r.current.info(plain(m), ...a),
    debug: (m, ...a) => r.current.debug(plain(m), ...a),
    trace: (m, ...a) => r.current.trace(plain(m), ...a),
  };
}

/**
 * A stand-alone logger writing lines of `style` to `sink` (all levels), outside the
 * process-wide configuration: the same formatting and folding as the real thing, for
 * tests and tools that want real log lines.
 */
export function lineLogger(tag: string, style: LineStyle, sink: LogSink): Logger {
  const inst = createConsola({ level: CONSOLA_LEVEL.trace, fancy: false, reporters: [lineReporter(() => style, () => sink)] }).withTag(tag);
  return {
    error: (m, ...a) => inst.error(m, ...a),
    warn: (m, ...a) => inst.warn(m, ...a),
    info: (m, ...a) => inst.info(m, ...a),
    debug: (m, ...a) => inst.debug(m, ...a),
    trace: (m, ...a) => inst.trace(m, ...a),
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
    state.format = opts.format === "auto" ? (process.stderr.isTTY && !opts.sink && !journal ? "fancy" : "text") : opts.format;
  }
  if (opts.sink) {
    state.sink = opts.sink;
    if (state.format === "fancy") state.format = "text";
  }
  state.journal = journal && state.sink === defaultSink;
  if (opts.level) state.level = opts.level;
  state.instances.clear();
  for (const [tag, ref] of loggers) ref.current = make(tag);
}

/**
 * Reopens the log file at its path (SIGUSR1, after an external logrotate moved it away).
 * False when no log file is in use.
 */
export function reopenLogFile(): boolean {
  if (state.file === null) return false;
  state.file.reopen();
  return true;
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

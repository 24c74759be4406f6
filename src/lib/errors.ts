/**
 * @module errors
 * warren's error types. Every error a user can see carries a stable `code` and a
 * one-line message; only `main.ts` maps codes to exit statuses (2 = bad config or
 * usage, 1 = everything else).
 */

import { errnoName } from "./errno.ts";

/** Base class: a stable code plus a message that reads well on one line. */
export class WarrenError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "WarrenError";
  }
}

/**
 * Bad configuration or command line. Exit status 2. `field` is the setting's config key
 * (dotted for nested ones, "" for plain usage errors), `reason` the complaint, and the
 * message names the setting as `label` (default: the key) the way the user gave it:
 * `--idle-timeout`, `WARREN_SECRET`, `config: /etc/warren.json: idleTimeout`.
 */
export class ConfigError extends WarrenError {
  readonly field: string;
  readonly reason: string;
  constructor(field: string, reason: string, label = field) {
    super("ERR_CONFIG", label ? `${label}: ${reason}` : reason);
    this.field = field;
    this.reason = reason;
    this.name = "ConfigError";
  }

  /**
   * The same error with its field named by `label(field)`; itself when it names no
   * field or its message was already written another way (e.g. `users file F: ...`).
   */
  named(label: (field: string) => string): ConfigError {
    if (!this.field || this.message !== `${this.field}: ${this.reason}`) return this;
    return new ConfigError(this.field, this.reason, label(this.field));
  }
}

/** Why an fs call failed, in words (`no such file or directory`), for one-line messages. */
export function fsReason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const text = e instanceof Error ? e.message : String(e);
  const m = /^[A-Z]+: ([^,]+)/.exec(text);
  if (m?.[1]) return m[1];
  return typeof code === "string" ? code : oneLine(e);
}

/**
 * A failed system call: `cannot <what>: EACCES — <hint>`.
 * `what` says what warren tried ("open /dev/net/tun"), `hint` how to fix it.
 */
export class SysError extends WarrenError {
  readonly errno: number;
  readonly syscall: string;
  constructor(syscall: string, errno: number, what: string, hint?: string) {
    super("ERR_SYSCALL", `cannot ${what}: ${errnoName(errno)}${hint ? ` — ${hint}` : ""}`);
    this.errno = errno;
    this.syscall = syscall;
    this.name = "SysError";
  }
}

/** Any thrown value as one line of text, for logs and the CLI. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, "; ").trim();
}

/** The `code` of a system error from node:fs, node:net or Bun (`ENOENT`, `EADDRINUSE`, ...), if it has one. */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** What a message shows of a failed file or socket call: its code (`ENOENT`), else its message. */
export function codeOrMessage(e: unknown): string {
  return errorCode(e) ?? (e instanceof Error ? e.message : String(e));
}

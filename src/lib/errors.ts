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

/** Bad configuration or command line; names the field. Exit status 2. */
export class ConfigError extends WarrenError {
  readonly field: string;
  constructor(field: string, message: string) {
    super("ERR_CONFIG", field ? `${field}: ${message}` : message);
    this.field = field;
    this.name = "ConfigError";
  }
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

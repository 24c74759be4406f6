/**
 * @module admin/control-protocol
 * The control socket's wire format: one JSON object per line in each direction, one
 * response per request, in order. Both ends validate with these schemas.
 *
 *   -> {"cmd":"snapshot"}
 *   <- {"ok":true,"result":{"time":...,"status":{...},"clients":[...]}}
 *   -> {"cmd":"kick","target":"phone1"}
 *   <- {"ok":false,"code":"ERR_NOT_FOUND","error":"no client matches \"phone1\""}
 *
 * Pure: schemas, the setting names, and line encoding/decoding. No I/O.
 */

import * as v from "valibot";
import { SnapshotSchema } from "./snapshot.ts";
import { WG_RESULT_SCHEMAS, WG_REQUESTS } from "./wg-control.ts";

/** Longest request or response line accepted (bytes). */
export const MAX_LINE = 1 << 20;

/** Settings `warren set` / `warren get` know. */
export const SETTING_KEYS = ["log-level", "idle-timeout", "isolate", "max-clients", "secret"] as const;
/** One of SETTING_KEYS. */
export type SettingKey = (typeof SETTING_KEYS)[number];

const Key = v.picklist(SETTING_KEYS, `expected one of ${SETTING_KEYS.join(", ")}`);
const Target = v.pipe(v.string(), v.minLength(1, "expected a client id or address"), v.maxLength(256));

/** A request. */
export const RequestSchema = v.variant("cmd", [
  v.object({ cmd: v.literal("hello") }),
  v.object({ cmd: v.literal("snapshot") }),
  v.object({
    cmd: v.literal("kick"),
    target: Target,
    all: v.optional(v.boolean()),
    banSec: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(366 * 86400))),
  }),
  v.object({ cmd: v.literal("set"), key: Key, value: v.pipe(v.string(), v.maxLength(4096)) }),
  v.object({ cmd: v.literal("get"), key: Key }),
  v.object({ cmd: v.literal("reload") }),
  v.object({
    cmd: v.literal("capture-start"),
    target: Target,
    file: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(4096))),
    maxBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024))),
  }),
  v.object({ cmd: v.literal("capture-stop"), target: Target }),
  v.object({ cmd: v.literal("lockouts") }),
  ...WG_REQUESTS,
  v.object({ cmd: v.literal("unlock"), source: v.pipe(v.string(), v.minLength(1, "expected an address"), v.maxLength(64)) }),
]);
/** A request. */
export type Request = v.InferOutput<typeof RequestSchema>;
/** A request's command name. */
export type Command = Request["cmd"];

/** Every response: success with a command-specific result, or a one-line error with a code. */
export const ResponseSchema = v.union([
  v.object({ ok: v.literal(true), result: v.unknown() }),
  v.object({ ok: v.literal(false), code: v.string(), error: v.string() }),
]);
/** A response. */
export type Response = v.InferOutput<typeof ResponseSchema>;

const ClientRef = v.object({ id: v.string(), address: v.string() });

/** Result schema of each command. */
export const RESULT_SCHEMAS = {
  hello: v.object({ pid: v.number(), version: v.string() }),
  snapshot: SnapshotSchema,
  kick: v.object({ kicked: v.array(ClientRef), banSec: v.optional(v.number()) }),
  set: v.object({ key: v.string(), value: v.string(), previous: v.string() }),
  get: v.object({ key: v.string(), value: v.string() }),
  reload: v.object({
    file: v.nullable(v.string()),
    changed: v.array(v.object({ key: v.string(), from: v.string(), to: v.string() })),
    restart: v.array(v.string()),
  }),
  "capture-start": v.object({ id: v.string(), file: v.string(), maxBytes: v.number() }),
  "capture-stop": v.object({ id: v.string(), file: v.string(), packets: v.number(), bytes: v.number(), dropped: v.number() }),
  lockouts: v.object({ lockouts: v.array(v.object({ protocol: v.string(), source: v.string(), leftSec: v.number() })) }),
  unlock: v.object({ source: v.string(), unlocked: v.boolean() }),
  ...WG_RESULT_SCHEMAS,
} satisfies Record<Command, v.GenericSchema>;

/** The result type of command `C`. */
export type ResultOf<C extends Command> = v.InferOutput<(typeof RESULT_SCHEMAS)[C]>;

/** A request line, or why a line is not one. */
export type ParsedRequest = { ok: true; request: Request } | { ok: false; error: string };

/** Parses one request line (without the newline). Never throws. */
export function parseRequestLine(line: string): ParsedRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return { ok: false, error: "request is not JSON" };
  }
  const r = v.safeParse(RequestSchema, raw);
  if (r.success) return { ok: true, request: r.output };
  const issue = r.issues[0];
  const path = issue ? v.getDotPath(issue) : null;
  return { ok: false, error: `bad request: ${path ? `${path}: ` : ""}${issue?.message ?? "invalid"}` };
}

/** One request or response line, newline included. */
export function encodeLine(msg: Request | Response | { cmd: string }): string {
  return `${JSON.stringify(msg)}\n`;
}

/** Success response. */
export function ok(result: unknown): Response {
  return { ok: true, result };
}

/** Error response. */
export function fail(code: string, error: string): Response {
  return { ok: false, code, error };
}

/**
 * @module config/load
 * File + environment + flags -> validated configuration, or a one-line ConfigError
 * that names each bad setting where the user gave it: the flag as typed
 * (`--idle-timeout: ...`), the environment variable (`WARREN_SECRET: ...`), or the
 * file and key (`config: /etc/warren.json: idleTimeout: ...`). Precedence: flags over
 * environment over the JSON file over defaults. Validation happens once, here;
 * everything past this takes typed values.
 */

import { readFileSync } from "node:fs";
import * as v from "valibot";
import { ConfigError, fsReason } from "../lib/errors.ts";
import { describeIssues } from "../lib/issues.ts";
import { jsonSyntaxError } from "../lib/json-error.ts";

/** Names a setting (a valibot dot path such as `idleTimeout` or `dns.1`) the way the user gave it. */
export type Label = (path: string) => string;

/** Reads a JSON config file into a plain object; errors read `config: FILE: ...`. */
export function readConfigFile(path: string): Record<string, unknown> {
  const fail = (reason: string): never => {
    throw new ConfigError("config", reason, `config: ${path}`);
  };
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    fail(`cannot read: ${fsReason(e)}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const at = jsonSyntaxError(text);
    fail(at ? `invalid JSON at line ${at.line}, column ${at.column}: ${at.reason}` : "invalid JSON");
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    fail(`expected a JSON object of settings, e.g. {"listen": "[::]:8000"} (got ${Array.isArray(data) ? "an array" : JSON.stringify(data)})`);
  }
  return data as Record<string, unknown>;
}

/**
 * Validates `raw` against `schema`. Undefined values in `raw` count as absent.
 * Throws one ConfigError naming every bad setting (through `label`) on one line;
 * its `field` is the first bad key.
 */
export function validate<S extends v.GenericSchema>(schema: S, raw: Record<string, unknown>, label: Label = (p) => p): v.InferOutput<S> {
  const clean: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(raw)) if (val !== undefined) clean[k] = val;
  const r = v.safeParse(schema, clean);
  if (r.success) return r.output;
  const parts = r.issues.map((issue) => {
    const { field, text } = describeIssues([issue]);
    return { field, text: `${label(field)}${text.slice(field.length)}` };
  });
  const first = parts[0]?.field ?? "";
  const text = parts.map((p) => p.text).join("; ");
  const err = new ConfigError(first, text);
  err.message = text;
  throw err;
}

/** A validated configuration and how to name each of its settings in later messages. */
export interface Loaded<T> {
  config: T;
  /** How the user gave `path`: flag as typed, env var, `config: FILE: key`, or (a default) its flag. */
  label: Label;
  /** The value given for `path` before validation (undefined when it is a default). */
  given(path: string): unknown;
}

/**
 * Merges file, environment and flags (in rising precedence), then validates.
 * `flags` is config-keyed (`config` = the file's path); `names` maps a config key to
 * its flag as typed (cli/args.ts parseCommand), for messages.
 */
export function loadSettings<S extends v.GenericSchema>(
  schema: S,
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
  envMap: Record<string, string>,
  names: Record<string, string> = {},
): Loaded<v.InferOutput<S>> {
  const configPath = flags.config;
  const file = typeof configPath === "string" ? readConfigFile(configPath) : {};
  const fromEnv: Record<string, unknown> = {};
  const envOf: Record<string, string> = {};
  for (const [name, key] of Object.entries(envMap)) {
    if (env[name] === undefined || env[name] === "") continue;
    fromEnv[key] = env[name];
    envOf[key] = name;
  }
  const { config: _ignored, ...rest } = flags;
  const merged = mergeDotted({ ...file, ...fromEnv }, rest);
  const label: Label = (path) => {
    const parts = path.split(".");
    for (let n = parts.length; n > 0; n--) {
      const key = parts.slice(0, n).join(".");
      if (rest[key] !== undefined) return names[key] ?? key;
    }
    const top = parts[0] ?? path;
    if (envOf[top] !== undefined) return envOf[top];
    if (typeof configPath === "string" && file[top] !== undefined) return `config: ${configPath}: ${path}`;
    return names[path] ?? names[top] ?? path;
  };
  const given = (path: string): unknown => {
    let at: unknown = merged;
    for (const part of path.split(".")) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[part] : undefined;
    return at;
  };
  return { config: validate(schema, merged, label), label, given };
}

/** loadSettings without the labels: just the validated configuration. */
export function loadConfig<S extends v.GenericSchema>(
  schema: S,
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
  envMap: Record<string, string>,
  names: Record<string, string> = {},
): v.InferOutput<S> {
  return loadSettings(schema, flags, env, envMap, names).config;
}

/**
 * `base` with `over` laid on top; a key `a.b` (a flag for a nested setting, e.g.
 * `nat.enabled`) sets field `b` of object `a`, keeping its other fields from `base`.
 */
export function mergeDotted(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, val] of Object.entries(over)) {
    if (val === undefined) continue;
    const dot = key.indexOf(".");
    if (dot < 0) {
      out[key] = val;
      continue;
    }
    const head = key.slice(0, dot);
    const inner = out[head];
    const obj = inner !== null && typeof inner === "object" && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
    out[head] = { ...obj, [key.slice(dot + 1)]: val };
  }
  return out;
}

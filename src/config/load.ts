/**
 * @module config/load
 * File + environment + flags -> validated configuration, or a ConfigError that
 * names the field. Precedence: flags over environment over the JSON file over
 * defaults. Validation happens once, here; everything past this takes typed values.
 */

import { readFileSync } from "node:fs";
import * as v from "valibot";
import { ConfigError, errorCode } from "../lib/errors.ts";
import { describeIssues } from "../lib/issues.ts";

/** Reads a JSON config file into a plain object. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = errorCode(e) ?? "error";
    throw new ConfigError("config", `cannot read ${path}: ${code}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("config", `${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new ConfigError("config", `${path} must hold a JSON object`);
  }
  return data as Record<string, unknown>;
}

/**
 * Validates `raw` against `schema`. Undefined values in `raw` count as absent.
 * Throws ConfigError naming every bad field on one line.
 */
export function validate<S extends v.GenericSchema>(schema: S, raw: Record<string, unknown>): v.InferOutput<S> {
  const clean: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(raw)) if (val !== undefined) clean[k] = val;
  const r = v.safeParse(schema, clean);
  if (r.success) return r.output;
  const { field, text } = describeIssues(r.issues);
  const err = new ConfigError(field, text);
  err.message = text;
  throw err;
}

/** Merges file, environment and flags (in rising precedence), then validates. */
export function loadConfig<S extends v.GenericSchema>(
  schema: S,
  flags: Record<string, unknown>,
  env: Record<string, string | undefined>,
  envMap: Record<string, string>,
): v.InferOutput<S> {
  const configPath = flags.config;
  const file = typeof configPath === "string" ? readConfigFile(configPath) : {};
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(envMap)) if (env[name] !== undefined && env[name] !== "") fromEnv[key] = env[name];
  const { config: _ignored, ...rest } = flags;
  return validate(schema, mergeDotted({ ...file, ...fromEnv }, rest));
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

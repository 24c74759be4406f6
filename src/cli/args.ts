/**
 * @module cli/args
 * argv -> flags with node:util parseArgs, strict. Unknown options and missing values
 * become a ConfigError naming the option (exit 2).
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../lib/errors.ts";

/** Options of one command: parseArgs options plus the config key each maps to. */
export type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string; key?: string }>;

/** Parses argv for one command. Returns config-keyed values and positionals. */
export function parseCommand(argv: string[], spec: OptionSpec): { values: Record<string, unknown>; positionals: string[] } {
  const options: ParseArgsConfig["options"] = {};
  for (const [name, o] of Object.entries(spec)) {
    options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "").replace(/^Unknown option '(.*)'$/, "unknown option $1");
    throw new ConfigError("", msg);
  }
  const values: Record<string, unknown> = {};
  for (const [name, val] of Object.entries(parsed.values)) values[spec[name]?.key ?? name] = val;
  return { values, positionals: parsed.positionals };
}

/** How flag names differ from the config keys they set (see flagsFromSchema). */
export interface FlagNaming {
  /** Config key (dotted for nested ones) -> flag name, where kebab-case is not it. */
  rename?: Record<string, string>;
  /** Config key -> one-letter alias. */
  short?: Record<string, string>;
  /** Config keys with no flag (set only in the file or the environment). */
  skip?: readonly string[];
}

type AnySchema = { type: string; wrapped?: AnySchema; entries?: Record<string, AnySchema> };

/** `idleTimeout` -> `idle-timeout`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * The flag table of a command, derived from its config schema so that a setting and its
 * flag can never drift apart: each key becomes `--kebab-case` (nested `a.b` becomes
 * `--a-b`), an array a repeatable flag, a `bool` a boolean flag, anything else a string
 * validated by the schema. `naming` lists the exceptions.
 */
export function flagsFromSchema(entries: Record<string, unknown>, bool: unknown, naming: FlagNaming = {}, prefix = ""): OptionSpec {
  const out: OptionSpec = {};
  for (const [name, raw] of Object.entries(entries)) {
    const key = prefix + name;
    if (naming.skip?.includes(key)) continue;
    let schema = raw as AnySchema;
    while (schema.type === "optional" && schema.wrapped !== undefined) schema = schema.wrapped;
    if ((schema.type === "strict_object" || schema.type === "object") && schema.entries !== undefined) {
      Object.assign(out, flagsFromSchema(schema.entries, bool, naming, `${key}.`));
      continue;
    }
    const flag = naming.rename?.[key] ?? kebab(key.replace(/\./g, "-"));
    const short = naming.short?.[key];
    out[flag] = {
      type: schema === bool ? "boolean" : "string",
      ...(schema.type === "array" ? { multiple: true } : {}),
      ...(short !== undefined ? { short } : {}),
      key,
    };
  }
  return out;
}

/**
 * @module cli/args
 * argv -> flags with node:util parseArgs (tokens, checked here rather than by its
 * strict mode, so that no message of its own reaches the user). Unknown options,
 * missing values and values on a boolean flag become a one-line ConfigError naming
 * the option as typed (exit 2). A negative number is a value (`--max-clients -1`
 * reaches the schema, which says what range it wants), and a lone negative number
 * is a positional (`warren set max-clients -1`).
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { show } from "../config/fields.ts";
import { ConfigError } from "../lib/errors.ts";

/** Options of one command: parseArgs options plus the config key each maps to. */
export type OptionSpec = Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string; key?: string }>;

/** A parsed command line. */
export interface ParsedCommand {
  /** Config key (or option name) -> value. */
  values: Record<string, unknown>;
  positionals: string[];
  /** Config key -> its flag as the user typed it (`--idle-timeout`, `-l`), else `--long-name`. */
  names: Record<string, string>;
}

/** Settings whose values a message never repeats. */
const SENSITIVE_KEYS: readonly string[] = ["secret"];
const NEGATIVE_NUMBER = /^-\d+(?:\.\d+)?$/;

/**
 * Parses argv for one command (`command` names it in hints: `see warren server --help`).
 * Throws ConfigError (field "") for unknown options, missing values, a value on a
 * boolean flag, and a value that looks like another option.
 */
export function parseCommand(argv: string[], spec: OptionSpec, command = ""): ParsedCommand {
  const options: ParseArgsConfig["options"] = {};
  const names: Record<string, string> = {};
  for (const [name, o] of Object.entries(spec)) {
    options[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
    names[o.key ?? name] = `--${name}`;
  }
  const parsed = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const seen = new Set<number>();
  for (const t of parsed.tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const o = spec[t.name];
    const arg = argv[t.index] ?? "";
    if (o === undefined && NEGATIVE_NUMBER.test(arg)) {
      if (!seen.has(t.index)) positionals.push(arg);
      seen.add(t.index);
      continue;
    }
    if (o === undefined) throw new ConfigError("", `unknown option${command ? ` (see warren ${command} --help)` : ""}`, t.rawName);
    checkValue(t.rawName, t.name, o, t.value, t.inlineValue === true);
    const key = o.key ?? t.name;
    names[key] = t.rawName;
    const val = o.type === "boolean" ? true : (t.value as string);
    values[key] = o.multiple ? [...((values[key] as string[] | undefined) ?? []), val] : val;
  }
  return { values, positionals, names };
}

function checkValue(raw: string, name: string, o: OptionSpec[string], value: string | undefined, inline: boolean): void {
  if (o.type === "boolean") {
    if (value !== undefined) throw new ConfigError("", `takes no value (got ${show(value)})`, raw);
    return;
  }
  if (value === undefined) throw new ConfigError("", "expected a value", raw);
  if (!inline && value.startsWith("-") && value !== "-" && !NEGATIVE_NUMBER.test(value)) {
    const got = SENSITIVE_KEYS.includes(o.key ?? name) ? "" : ` (got ${show(value)})`;
    throw new ConfigError("", `expected a value; for one that starts with "-", write --${name}=VALUE${got}`, raw);
  }
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

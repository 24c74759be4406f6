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

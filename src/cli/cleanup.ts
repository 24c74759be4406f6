/**
 * @module cli/cleanup
 * `warren cleanup [--tun NAME] [--state-dir DIR]`: undoes by hand what a server killed
 * without a chance to clean up (kill -9, a crash) left in this network namespace, from
 * its NAT state files (platform/linux/nat-state.ts), and prints what it removed. Exit 0
 * when it is clean afterwards, 1 when a removal failed (the errors are on stderr).
 */

import * as v from "valibot";
import { AbsPathSchema, IfNameSchema, unknownSetting } from "../config/fields.ts";
import { loadConfig } from "../config/load.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { DEFAULT_SERVER_STATE_DIR } from "../platform/linux/lease-file.ts";
import { linuxNatDeps, type NatDeps } from "../platform/linux/nat-ops.ts";
import { type LeftoverReport, removeNatLeftovers } from "../platform/linux/nat-state.ts";
import { type OptionSpec, parseCommand } from "./args.ts";

/** Help text of `warren cleanup`. */
export const CLEANUP_HELP = `usage: warren cleanup [--tun NAME] [--state-dir DIR]

Removes what a warren server that was killed (kill -9, a crash, a power cut) left
behind in this network namespace: its NAT rules (nft table, tagged rules, iptables
chains) and the forwarding sysctls it changed, restored to their values before it
started, as its state file DIR/nat-<tun>-<netns>.json records them. A server that
still runs is left alone. A server does the same for its own TUN when it starts,
with or without --nat. Needs root.

options:
      --tun NAME       only this TUN; without a state file, warren's rules for
                       it are also looked up by name (unless NAME exists)
      --state-dir DIR  the server's --state-dir; env WARREN_STATE_DIR  ${DEFAULT_SERVER_STATE_DIR}
  -h, --help           this text`;

const OPTIONS: OptionSpec = {
  tun: { type: "string", key: "tun" },
  "state-dir": { type: "string", key: "stateDir" },
  help: { type: "boolean", short: "h" },
};

const CleanupSchema = v.strictObject(
  { tun: v.optional(IfNameSchema), stateDir: v.optional(AbsPathSchema, DEFAULT_SERVER_STATE_DIR) },
  unknownSetting,
);

/** Runs `warren cleanup`; prints the report on stdout. Returns the exit status. */
export function runCleanup(argv: string[], deps: NatDeps = linuxNatDeps, out: (line: string) => void = console.log): number {
  const { values, positionals } = parseCommand(argv, OPTIONS);
  if (values.help) {
    out(CLEANUP_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new ConfigError("", `unexpected argument ${JSON.stringify(positionals[0])}`);
  delete values.help;
  const cfg = loadConfig(CleanupSchema, values, process.env, { WARREN_STATE_DIR: "stateDir" });
  let errors = 0;
  const log = stderrLogger(() => errors++);
  const reports = removeNatLeftovers({ stateDir: cfg.stateDir, ...(cfg.tun ? { tun: cfg.tun } : {}), checkRunning: true, byName: true, log }, deps);
  for (const line of describe(reports)) out(line);
  return errors > 0 ? 1 : 0;
}

/** The report as printed: what was removed per TUN, or "nothing to clean up". */
export function describe(reports: readonly LeftoverReport[]): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    const who = r.pid > 0 ? `warren pid ${r.pid}` : "warren";
    if (r.removed.length === 0) lines.push(`${r.tun}: ${r.note ?? "nothing left"}`);
    else lines.push(`${r.tun}: removed what ${who} left behind${r.note ? ` (${r.note})` : ""}:`, ...r.removed.map((x) => `  ${x}`));
  }
  if (!reports.some((r) => r.removed.length > 0)) lines.push("nothing to clean up");
  return lines;
}

/** Errors and warnings as `warren: ...` lines on stderr; the rest is dropped. */
function stderrLogger(onError: () => void): Logger {
  const write = (m: unknown) => void process.stderr.write(`warren: ${String(m)}\n`);
  const quiet = () => {};
  return {
    error: (m) => {
      onError();
      write(m);
    },
    warn: write,
    info: quiet,
    debug: quiet,
    trace: quiet,
  };
}

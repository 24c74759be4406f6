/**
 * @module platform/linux/nat-state
 * The NAT state file, `<stateDir>/nat-<tun>-<netns>.json`: what a running `--nat` may
 * have changed (its nft table, its iptables families, the original forwarding sysctls),
 * written before each change, deleted on a clean stop. A file that outlives its server
 * (kill -9, power loss) is a leftover:
 *  - at every server start, after the TUN is open (so no live warren holds that TUN in
 *    this namespace), the leftover of the same TUN is undone, with or without `--nat`;
 *  - `warren cleanup [--tun NAME]` undoes the leftovers of this namespace by hand, except
 *    those whose server still runs.
 * The file records the kernel's boot id: after a reboot the rules are gone and the sysctls
 * are the boot's own, so a file of an earlier boot is deleted without undoing anything.
 */

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { oneLine, WarrenError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { findTools, type NatDeps, type NatFootprint, NatOps } from "./nat-ops.ts";
import type { Family } from "./nat-rules.ts";
import { nftTableName } from "./nat-rules.ts";
import type { SysctlSnapshot } from "./sysctl.ts";
import { loadStateFile, saveStateFile } from "../../lib/state-file.ts";

/** What may exist, recorded before it is added. */
export interface NatState extends NatFootprint {
  version: 1;
  pid: number;
  /** Kernel boot id when written (absent in files of older versions). */
  bootId?: string;
}

/** The only sysctls a state file may name (it is replayed as root). */
const SYSCTL_KEY = /^net\/ipv[46]\/(ip_forward|conf\/[A-Za-z0-9_.:-]{1,15}\/forwarding)$/;
const FILE_NAME = /^nat-([A-Za-z0-9_.:-]{1,15})-(\d+)\.json$/;

/** The state file as written by writeNatState; unknown families and foreign sysctl keys are dropped. */
const NatStateSchema = v.object({
  version: v.literal(1),
  pid: v.optional(v.number(), 0),
  bootId: v.optional(v.string()),
  tun: v.string(),
  nftTable: v.optional(v.nullable(v.string()), null),
  iptables: v.pipe(
    v.optional(v.array(v.unknown()), []),
    v.transform((a) => a.filter((f): f is Family => f === 4 || f === 6)),
  ),
  sysctls: v.pipe(
    v.optional(v.record(v.string(), v.unknown()), {}),
    v.transform((o): SysctlSnapshot => {
      const out: SysctlSnapshot = {};
      for (const [k, val] of Object.entries(o)) if (SYSCTL_KEY.test(k) && typeof val === "string") out[k] = val;
      return out;
    }),
  ),
});

/** Path of the state file of `tun` in this network namespace. */
export function natStatePath(dir: string, tun: string, deps: NatDeps): string {
  return join(dir, `nat-${tun}-${deps.netnsId()}.json`);
}

/** Writes the state file (atomic, 0600). Throws ERR_NAT_STATE. */
export function writeNatState(path: string, state: NatState): void {
  try {
    saveStateFile(path, state, { dir: 0o700, file: 0o600 });
  } catch (e) {
    throw new WarrenError("ERR_NAT_STATE", `cannot write the NAT state file ${path}: ${oneLine(e)}`, { cause: e });
  }
}

/** What one leftover was and what became of it. */
export interface LeftoverReport {
  tun: string;
  /** The pid that wrote it (0 when unknown). */
  pid: number;
  /** What was removed or restored (empty: nothing of it existed any more). */
  removed: string[];
  /** Why it was left alone (its server runs), or why there was nothing to undo (earlier boot). */
  note?: string;
}

/** Options of removeNatLeftovers. */
export interface LeftoverOptions {
  stateDir: string;
  /** Only this TUN; all TUNs of this namespace when absent. */
  tun?: string;
  /** Leave files whose server still runs (true for `warren cleanup`; a starting server already owns the TUN). */
  checkRunning: boolean;
  /** Without a state file for `tun` (and no such interface), also look for warren's rules by name. */
  byName?: boolean;
  log: Logger;
}

/** Undoes the NAT leftovers of this network namespace (see the module comment); one report per state file. */
export function removeNatLeftovers(opts: LeftoverOptions, deps: NatDeps): LeftoverReport[] {
  const ops = new NatOps(deps, findTools(deps), opts.log);
  const reports: LeftoverReport[] = [];
  for (const tun of leftoverTuns(opts, deps)) {
    const path = natStatePath(opts.stateDir, tun, deps);
    const state = loadStateFile(path, NatStateSchema);
    if (state === null) continue;
    if (opts.checkRunning && state.pid > 0 && deps.serverRunning(state.pid)) {
      reports.push({ tun, pid: state.pid, removed: [], note: `warren server pid ${state.pid} is running: left alone` });
      continue;
    }
    if (state.bootId !== undefined && state.bootId !== deps.bootId()) {
      rmSync(path, { force: true });
      reports.push({ tun, pid: state.pid, removed: [`state file ${path}`], note: "written before the last reboot: nothing left to undo" });
      continue;
    }
    const removed = ops.undo({ ...state, tun });
    rmSync(path, { force: true });
    reports.push({ tun, pid: state.pid, removed: [...removed, `state file ${path}`] });
  }
  if (opts.byName && opts.tun !== undefined && reports.length === 0 && !deps.linkExists(opts.tun)) {
    const tools = findTools(deps);
    const guess: NatFootprint = { tun: opts.tun, nftTable: tools.nft ? nftTableName(opts.tun) : null, iptables: [4, 6], sysctls: {} };
    const removed = ops.undo(guess);
    if (removed.length > 0) reports.push({ tun: opts.tun, pid: 0, removed, note: "no state file: found by name" });
  }
  return reports;
}

/** The TUN names with a state file of this namespace in the state directory. */
function leftoverTuns(opts: LeftoverOptions, deps: NatDeps): string[] {
  if (opts.tun !== undefined) return [opts.tun];
  let names: string[];
  try {
    names = readdirSync(opts.stateDir);
  } catch {
    return [];
  }
  const netns = deps.netnsId();
  const tuns: string[] = [];
  for (const n of names.sort()) {
    const m = FILE_NAME.exec(n);
    if (m?.[1] !== undefined && m[2] === netns) tuns.push(m[1]);
  }
  return tuns;
}

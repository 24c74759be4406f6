/**
 * @module platform/linux/nat
 * Managed NAT for `warren server --nat`: IP forwarding on, the pool masqueraded out of
 * the default-route interface, forwarding for the pool accepted even under a drop
 * policy but only towards that interface (and `--nat-allow` prefixes), TCP MSS clamped
 * to the tunnel; and all of it removed again on stop. The rules themselves are in
 * `nat-rules.ts`, the tool runner in `nat-ops.ts`, the state file in `nat-state.ts`.
 *
 * Lifecycle:
 *  1. pick the tool: `nft` when on PATH, else `iptables` (+ `ip6tables` for an IPv6
 *     pool); neither is a one-line error naming the Debian package. Nothing is touched yet.
 *  2. a state file left by a run that did not stop cleanly (same TUN, same network
 *     namespace) is replayed: its rules are removed and its sysctls restored (the CLI
 *     does the same at every start without --nat, and `warren cleanup` by hand).
 *  3. the state file is written BEFORE each change and says what may exist, so a crash
 *     at any point leaves enough to undo it (step 2 of the next run).
 *  4. forwarding sysctls on (originals recorded), rules added. A failure undoes it all.
 *  5. `teardown()` removes the rules, restores the sysctls, deletes the state file.
 * Removal is by name (nft table, iptables chains) and by comment (tagged nft rules), so it
 * never touches anything warren did not add.
 */

import { rmSync } from "node:fs";
import { WarrenError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { findTools, linuxNatDeps, type NatDeps, NatOps } from "./nat-ops.ts";
import { clampMss, type Family, type NatPlan, nftTableName, nftTableScript } from "./nat-rules.ts";
import { type LeftoverReport, type NatState, natStatePath, removeNatLeftovers, writeNatState } from "./nat-state.ts";
import { forwardingSnapshot, enableForwarding, readSysctl } from "./sysctl.ts";

/** The tool runner's types and the real OS, for callers that only import this module. */
export { type CmdResult, linuxNatDeps, type NatDeps } from "./nat-ops.ts";

/** What `setupNat` needs to know. */
export interface NatOptions {
  tun: string;
  mtu: number;
  /** Pools as CIDR text. */
  pool4: string;
  pool6: string | null;
  /** Named out interface; default: the one holding the default route. */
  outInterface?: string;
  /** Other destinations (CIDR text) the pools may be forwarded to; default none. */
  allow?: readonly string[];
  /** Where the state file goes (the server's --state-dir). */
  stateDir: string;
  log: Logger;
}

/** Running NAT; `teardown()` undoes it (idempotent, never throws, logs failures). */
export interface NatHandle {
  readonly tool: "nft" | "iptables";
  readonly out4: string;
  readonly out6: string | null;
  /** One line for the startup summary. */
  describe(): string;
  teardown(): void;
}

/** Sets up NAT; see the module comment. Throws WarrenError with one line on failure, after undoing its changes. */
export function setupNat(opts: NatOptions, deps: NatDeps = linuxNatDeps): NatHandle {
  const tools = findTools(deps);
  const useNft = tools.nft !== null;
  if (!useNft && (tools.ipt4 === null || (opts.pool6 !== null && tools.ipt6 === null))) {
    throw new WarrenError("ERR_NAT_TOOL", "--nat needs nft or iptables on PATH and found neither: install the Debian package nftables (apt install nftables), or iptables");
  }
  const statePath = natStatePath(opts.stateDir, opts.tun, deps);
  const ops = new NatOps(deps, tools, opts.log);
  logLeftovers(removeNatLeftovers({ stateDir: opts.stateDir, tun: opts.tun, checkRunning: false, log: opts.log }, deps), opts.log);
  const out4 = opts.outInterface ?? deps.defaultRoute4()?.dev;
  if (out4 === undefined) throw new WarrenError("ERR_NAT_ROUTE", "--nat: no IPv4 default route to find the outgoing interface; name it with --nat-out IFACE");
  const out6 = opts.pool6 === null ? null : (opts.outInterface ?? deps.defaultRoute6()?.dev ?? out4);
  const plan: NatPlan = { tun: opts.tun, mtu: opts.mtu, pool4: opts.pool4, out4, pool6: opts.pool6, out6, allow: opts.allow ?? [] };
  const families: Family[] = opts.pool6 === null ? [4] : [4, 6];
  const state: NatState = {
    version: 1, pid: process.pid, bootId: deps.bootId(), tun: opts.tun,
    nftTable: useNft ? nftTableName(opts.tun) : null,
    iptables: useNft ? [] : families,
    sysctls: forwardingSnapshot(families, deps.procSys),
  };
  if (out6 !== null && "net/ipv6/conf/all/forwarding" in state.sysctls && readSysctl(`net/ipv6/conf/${out6}/accept_ra`, deps.procSys) === "1") {
    opts.log.warn(`IPv6 forwarding makes ${out6} ignore router advertisements; if it gets its IPv6 route that way, set net.ipv6.conf.${out6}.accept_ra=2`);
  }
  const save = () => writeNatState(statePath, state);
  save();
  try {
    enableForwarding(state.sysctls, deps.procSys);
    if (useNft) {
      ops.nftScript(nftTableScript(plan));
      ops.openDropChains(plan, families, (f) => {
        state.iptables.push(f);
        save();
      });
    } else for (const f of families) ops.addIptables(plan, f, { mss: true, nat: true });
  } catch (e) {
    ops.undo(state);
    rmSync(statePath, { force: true });
    throw e;
  }
  return natHandle(plan, state, () => {
    ops.undo(state);
    rmSync(statePath, { force: true });
  });
}

/** The handle of running NAT; `undo` runs on the first teardown() only. */
function natHandle(plan: NatPlan, state: NatState, undo: () => void): NatHandle {
  let done = false;
  const { out4, out6, mtu } = plan;
  const pools = [plan.pool4, ...(plan.pool6 !== null ? [plan.pool6] : [])].join(", ");
  const outs = out6 !== null && out6 !== out4 ? `${out4} (IPv6 ${out6})` : out4;
  return {
    tool: state.nftTable !== null ? "nft" : "iptables",
    out4,
    out6,
    describe: () =>
      `masquerade ${pools} out of ${outs} via ${state.nftTable !== null ? `nft table inet ${state.nftTable}` : "iptables chains WARREN-*"}; ` +
      `forwarding on, only out of ${out6 !== null && out6 !== out4 ? `${out4}/${out6}` : out4}${plan.allow.length > 0 ? ` and to ${plan.allow.join(", ")}` : ""}; TCP MSS clamped to ${clampMss(mtu, 4)}${plan.pool6 !== null ? `/${clampMss(mtu, 6)}` : ""}`,
    teardown() {
      if (done) return;
      done = true;
      undo();
    },
  };
}

/** Logs what the crash cleanup at start did (one warning per leftover). */
export function logLeftovers(reports: readonly LeftoverReport[], log: Logger): void {
  for (const r of reports) {
    const what = r.removed.length > 0 ? r.removed.join(", ") : "nothing";
    log.warn(`removed what an earlier run${r.pid > 0 ? ` (pid ${r.pid})` : ""} left behind on ${r.tun}: ${what}${r.note ? ` (${r.note})` : ""}`);
  }
}

/**
 * @module platform/linux/nat
 * Managed NAT for `warren server --nat`: IP forwarding on, the pool masqueraded out of
 * the default-route interface, forwarding for the pool accepted even under a drop
 * policy, TCP MSS clamped to the tunnel; and all of it removed again on stop.
 * The rules themselves are in `nat-rules.ts`.
 *
 * Lifecycle:
 *  1. pick the tool: `nft` when on PATH, else `iptables` (+ `ip6tables` for an IPv6
 *     pool); neither is a one-line error naming the Debian package. Nothing is touched yet.
 *  2. a state file left by a run that did not stop cleanly (same TUN, same network
 *     namespace) is replayed: its rules are removed and its sysctls restored.
 *  3. the state file is written BEFORE each change and says what may exist, so a crash
 *     at any point leaves enough to undo it (step 2 of the next run).
 *  4. forwarding sysctls on (originals recorded), rules added. A failure undoes it all.
 *  5. `teardown()` removes the rules, restores the sysctls, deletes the state file.
 * Removal is by name (nft table, iptables chains) and by comment (tagged nft rules), so it
 * never touches anything warren did not add.
 */

import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { oneLine, WarrenError } from "../../lib/errors.ts";
import { loadStateFile, saveStateFile } from "../../lib/state-file.ts";
import type { Logger } from "../../lib/log.ts";
import {
  clampMss, type Family, dropForwardChains, iptablesAddCommands, iptablesChainRefs, isIptablesForward, type NatPlan,
  nftDeleteTaggedScript, nftHoleScript, nftTableName, nftTableScript, ruleComment,
} from "./nat-rules.ts";
import { defaultGateway4, defaultGateway6, type DefaultRoute } from "./netconf.ts";
import { enableForwarding, forwardingSnapshot, PROC_SYS, readSysctl, restoreSysctls, type SysctlSnapshot } from "./sysctl.ts";

/** Default folder of the state files (tmpfs: a reboot clears it along with the rules). */
export const NAT_STATE_DIR = "/run/warren";

/** What `setupNat` needs to know. */
export interface NatOptions {
  tun: string;
  mtu: number;
  /** Pools as CIDR text. */
  pool4: string;
  pool6: string | null;
  /** Named out interface; default: the one holding the default route. */
  outInterface?: string;
  stateDir?: string;
  log: Logger;
}

/** Result of one command. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** OS access, injectable for tests. */
export interface NatDeps {
  run(argv: string[], stdin?: string): CmdResult;
  which(cmd: string): string | null;
  procSys: string;
  /** Identifies the network namespace (state files are per TUN and namespace). */
  netnsId(): string;
  defaultRoute4(): DefaultRoute | null;
  defaultRoute6(): DefaultRoute | null;
}

/** The real OS. */
export const linuxNatDeps: NatDeps = {
  run(argv, stdin) {
    const r = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : Buffer.from(stdin), stdout: "pipe", stderr: "pipe", timeout: 20_000 });
    return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  },
  which: (cmd) => Bun.which(cmd),
  procSys: PROC_SYS,
  netnsId: () => String(statSync("/proc/self/ns/net").ino),
  defaultRoute4: defaultGateway4,
  defaultRoute6: defaultGateway6,
};

/** What may exist, recorded before it is added. */
interface NatState {
  version: 1;
  pid: number;
  tun: string;
  /** warren's nft table, when nft is the tool. */
  nftTable: string | null;
  /** Families whose warren iptables chains may exist. */
  iptables: Family[];
  sysctls: SysctlSnapshot;
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

const IPTABLES_WAIT = ["-w", "5"];
const MAX_JUMP_DELETES = 16;
/** The only sysctls a state file may name (it is replayed as root). */
const SYSCTL_KEY = /^net\/ipv[46]\/(ip_forward|conf\/[A-Za-z0-9_.:-]{1,15}\/forwarding)$/;

/** Sets up NAT; see the module comment. Throws WarrenError with one line on failure, after undoing its changes. */
export function setupNat(opts: NatOptions, deps: NatDeps = linuxNatDeps): NatHandle {
  const tools = { nft: deps.which("nft"), ipt4: deps.which("iptables"), ipt6: deps.which("ip6tables") };
  const useNft = tools.nft !== null;
  if (!useNft && (tools.ipt4 === null || (opts.pool6 !== null && tools.ipt6 === null))) {
    throw new WarrenError("ERR_NAT_TOOL", "--nat needs nft or iptables on PATH and found neither: install the Debian package nftables (apt install nftables), or iptables");
  }
  const statePath = join(opts.stateDir ?? NAT_STATE_DIR, `nat-${opts.tun}-${deps.netnsId()}.json`);
  const ops = new NatOps(deps, tools, opts.tun, opts.log);
  const leftover = readState(statePath);
  if (leftover !== null) {
    opts.log.warn(`removing what an earlier run (pid ${leftover.pid}) left behind`);
    ops.undo(leftover);
    rmSync(statePath, { force: true });
  }
  const out4 = opts.outInterface ?? deps.defaultRoute4()?.dev;
  if (out4 === undefined) throw new WarrenError("ERR_NAT_ROUTE", "--nat: no IPv4 default route to find the outgoing interface; name it with --nat-out IFACE");
  const out6 = opts.pool6 === null ? null : (opts.outInterface ?? deps.defaultRoute6()?.dev ?? out4);
  const plan: NatPlan = { tun: opts.tun, mtu: opts.mtu, pool4: opts.pool4, out4, pool6: opts.pool6, out6 };
  const families: Family[] = opts.pool6 === null ? [4] : [4, 6];
  const state: NatState = {
    version: 1, pid: process.pid, tun: opts.tun,
    nftTable: useNft ? nftTableName(opts.tun) : null,
    iptables: useNft ? [] : families,
    sysctls: forwardingSnapshot(families, deps.procSys),
  };
  if (out6 !== null && "net/ipv6/conf/all/forwarding" in state.sysctls && readSysctl(`net/ipv6/conf/${out6}/accept_ra`, deps.procSys) === "1") {
    opts.log.warn(`IPv6 forwarding makes ${out6} ignore router advertisements; if it gets its IPv6 route that way, set net.ipv6.conf.${out6}.accept_ra=2`);
  }
  const save = () => writeState(statePath, state);
  save();
  try {
    enableForwarding(state.sysctls, deps.procSys);
    if (useNft) ops.addNft(plan, families, (f) => {
      state.iptables.push(f);
      save();
    });
    else for (const f of families) ops.addIptables(plan, f, { mss: true, nat: true });
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
      `forwarding on; TCP MSS clamped to ${clampMss(mtu, 4)}${plan.pool6 !== null ? `/${clampMss(mtu, 6)}` : ""}`,
    teardown() {
      if (done) return;
      done = true;
      undo();
    },
  };
}

/** Runs the firewall tools. */
class NatOps {
  constructor(
    readonly deps: NatDeps,
    readonly tools: { nft: string | null; ipt4: string | null; ipt6: string | null },
    readonly tun: string,
    readonly log: Logger,
  ) {}

  #must(argv: string[], stdin?: string): string {
    const r = this.deps.run(argv, stdin);
    if (r.code !== 0) {
      const why = (r.stderr || r.stdout).trim().split("\n")[0] || `exit ${r.code}`;
      throw new WarrenError("ERR_NAT_RULES", `cannot add NAT rules: ${argv.slice(0, 6).join(" ")}${stdin ? ` <<${stdin.split("\n")[0]}...` : ""}: ${why}`);
    }
    return r.stdout;
  }

  #ipt(family: Family): string | null {
    return family === 4 ? this.tools.ipt4 : this.tools.ipt6;
  }

  /** warren's table, then accept rules in every drop-policy forward chain of other tables. */
  addNft(plan: NatPlan, families: Family[], willUseIptables: (f: Family) => void): void {
    const nft = this.tools.nft as string;
    this.#must([nft, "-f", "-"], nftTableScript(plan));
    const chains = dropForwardChains(this.#must([nft, "-j", "list", "chains"]), nftTableName(plan.tun));
    for (const c of chains) {
      const family: Family = c.family === "ip6" ? 6 : 4;
      const ipt = this.#ipt(family);
      if (isIptablesForward(c) && families.includes(family) && ipt !== null && /nf_tables/.test(this.deps.run([ipt, "-V"]).stdout)) {
        willUseIptables(family);
        try {
          this.addIptables(plan, family, { mss: false, nat: false });
          continue;
        } catch (e) {
          this.log.debug(`iptables refused ${c.family} ${c.table} ${c.chain} (${oneLine(e)}); using nft`);
          this.#removeIptables(family);
        }
      }
      const script = nftHoleScript(plan, c);
      if (script) this.#must([nft, "-f", "-"], script);
    }
  }

  addIptables(plan: NatPlan, family: Family, parts: { mss: boolean; nat: boolean }): void {
    const ipt = this.#ipt(family) as string;
    for (const args of iptablesAddCommands(plan, family, parts)) this.#must([ipt, ...IPTABLES_WAIT, ...args]);
  }

  /** Removes everything `state` says may exist and restores its sysctls; logs what fails. */
  undo(state: NatState): void {
    const nft = this.tools.nft;
    if (state.nftTable !== null && nft !== null) {
      const r = this.deps.run([nft, "delete", "table", "inet", state.nftTable]);
      if (r.code !== 0 && !/No such file/.test(r.stderr)) this.#warn(`delete nft table ${state.nftTable}`, r);
      const listing = this.deps.run([nft, "-a", "-j", "list", "ruleset"]);
      const script = nftDeleteTaggedScript(listing.stdout, ruleComment(state.tun));
      if (script) {
        const d = this.deps.run([nft, "-f", "-"], script);
        if (d.code !== 0) this.#warn("delete tagged nft rules", d);
      }
    }
    for (const f of state.iptables) this.#removeIptables(f);
    try {
      restoreSysctls(state.sysctls, this.deps.procSys);
    } catch (e) {
      this.log.error(oneLine(e));
    }
  }

  /** Deletes warren's iptables chains of `family` (the jumps first); absent chains are skipped. */
  #removeIptables(family: Family): void {
    const ipt = this.#ipt(family);
    if (ipt === null) return;
    for (const ref of iptablesChainRefs(this.tun)) {
      const base = [ipt, ...IPTABLES_WAIT, "-t", ref.table];
      if (this.deps.run([...base, "-S", ref.chain]).code !== 0) continue;
      for (let i = 0; i < MAX_JUMP_DELETES; i++) if (this.deps.run([...base, "-D", ref.from, "-j", ref.chain]).code !== 0) break;
      for (const op of ["-F", "-X"]) {
        const r = this.deps.run([...base, op, ref.chain]);
        if (r.code !== 0) this.#warn(`${op} ${ref.table} ${ref.chain}`, r);
      }
    }
  }

  #warn(what: string, r: CmdResult): void {
    this.log.error(`cannot ${what}: ${(r.stderr || r.stdout).trim().split("\n")[0] || `exit ${r.code}`}`);
  }
}

/** The state file as written by writeState; unknown families and foreign sysctl keys are dropped. */
const NatStateSchema = v.object({
  version: v.literal(1),
  pid: v.optional(v.number(), 0),
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

function readState(path: string): NatState | null {
  return loadStateFile(path, NatStateSchema);
}

function writeState(path: string, state: NatState): void {
  try {
    saveStateFile(path, state, { dir: 0o700, file: 0o600 });
  } catch (e) {
    throw new WarrenError("ERR_NAT_STATE", `cannot write the NAT state file ${path}: ${oneLine(e)}`, { cause: e });
  }
}

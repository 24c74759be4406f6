/**
 * @module platform/linux/nat-ops
 * Runs the firewall tools for managed NAT: adds the rules of `nat-rules.ts` and removes
 * everything a NAT state says may exist, reporting what it actually removed (the crash
 * cleanup at start and `warren cleanup` print it). The OS is reached through NatDeps,
 * so tests use a recording fake.
 */

import { existsSync, readFileSync, statSync } from "node:fs";
import { oneLine, WarrenError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { isWarrenProcess } from "../../lib/pidfile.ts";
import {
  dropForwardChains, type Family, iptablesAddCommands, iptablesChainRefs, isIptablesForward, type NatPlan, nftDeleteTaggedScript,
  nftHoleScript, nftTableName, ruleComment,
} from "./nat-rules.ts";
import { defaultGateway4, defaultGateway6, type DefaultRoute } from "./netconf.ts";
import { PROC_SYS, restoreSysctls, type SysctlSnapshot } from "./sysctl.ts";

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
  /** Identifies this boot of the kernel (a state file of an earlier boot has nothing left to undo). */
  bootId(): string;
  /** True when interface `name` exists in this network namespace. */
  linkExists(name: string): boolean;
  /** True when `pid` is a running `warren server`. */
  serverRunning(pid: number): boolean;
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
  bootId: () => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim(),
  linkExists: (name) => existsSync(`/sys/class/net/${name}`),
  serverRunning: (pid) => isWarrenProcess(pid, "server"),
  defaultRoute4: defaultGateway4,
  defaultRoute6: defaultGateway6,
};

/** What may exist, as far as removal is concerned (a NAT state file, or a guess by name). */
export interface NatFootprint {
  tun: string;
  /** warren's nft table, when nft was the tool. */
  nftTable: string | null;
  /** Families whose warren iptables chains may exist. */
  iptables: Family[];
  sysctls: SysctlSnapshot;
}

/** The paths of the firewall tools (null: not on PATH). */
export interface NatTools {
  nft: string | null;
  ipt4: string | null;
  ipt6: string | null;
}

const IPTABLES_WAIT = ["-w", "5"];
const MAX_JUMP_DELETES = 16;

/** The tools on PATH. */
export function findTools(deps: NatDeps): NatTools {
  return { nft: deps.which("nft"), ipt4: deps.which("iptables"), ipt6: deps.which("ip6tables") };
}

/** Runs the firewall tools. */
export class NatOps {
  constructor(
    readonly deps: NatDeps,
    readonly tools: NatTools,
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

  /** Runs an nft script (warren's table). */
  nftScript(script: string): void {
    this.#must([this.tools.nft as string, "-f", "-"], script);
  }

  /** Accept rules in every drop-policy forward chain of other tables (iptables for iptables-nft's FORWARD). */
  openDropChains(plan: NatPlan, families: Family[], willUseIptables: (f: Family) => void): void {
    const nft = this.tools.nft as string;
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
          this.#removeIptables(plan.tun, family);
        }
      }
      const script = nftHoleScript(plan, c);
      if (script) this.#must([nft, "-f", "-"], script);
    }
  }

  /** warren's iptables chains of `family`. */
  addIptables(plan: NatPlan, family: Family, parts: { mss: boolean; nat: boolean }): void {
    const ipt = this.#ipt(family) as string;
    for (const args of iptablesAddCommands(plan, family, parts)) this.#must([ipt, ...IPTABLES_WAIT, ...args]);
  }

  /** Removes everything `fp` says may exist and restores its sysctls; returns what it removed; logs what fails. */
  undo(fp: NatFootprint): string[] {
    const done: string[] = [];
    const nft = this.tools.nft;
    if (fp.nftTable !== null && nft !== null) {
      const r = this.deps.run([nft, "delete", "table", "inet", fp.nftTable]);
      if (r.code === 0) done.push(`nft table inet ${fp.nftTable}`);
      else if (!/No such file/.test(r.stderr)) this.#warn(`delete nft table ${fp.nftTable}`, r);
      const listing = this.deps.run([nft, "-a", "-j", "list", "ruleset"]);
      const script = nftDeleteTaggedScript(listing.stdout, ruleComment(fp.tun));
      if (script) {
        const d = this.deps.run([nft, "-f", "-"], script);
        if (d.code !== 0) this.#warn("delete tagged nft rules", d);
        else done.push(`${script.trim().split("\n").length} nft rules tagged ${ruleComment(fp.tun)}`);
      }
    }
    for (const f of fp.iptables) done.push(...this.#removeIptables(fp.tun, f));
    try {
      const restored = restoreSysctls(fp.sysctls, this.deps.procSys);
      if (restored.length > 0) done.push(`sysctl ${restored.join(" ")}`);
    } catch (e) {
      this.log.error(oneLine(e));
    }
    return done;
  }

  /** Deletes warren's iptables chains of `family` (the jumps first); absent chains are skipped. Returns those removed. */
  #removeIptables(tun: string, family: Family): string[] {
    const ipt = this.#ipt(family);
    if (ipt === null) return [];
    const removed: string[] = [];
    for (const ref of iptablesChainRefs(tun)) {
      const base = [ipt, ...IPTABLES_WAIT, "-t", ref.table];
      if (this.deps.run([...base, "-S", ref.chain]).code !== 0) continue;
      for (let i = 0; i < MAX_JUMP_DELETES; i++) if (this.deps.run([...base, "-D", ref.from, "-j", ref.chain]).code !== 0) break;
      for (const op of ["-F", "-X"]) {
        const r = this.deps.run([...base, op, ref.chain]);
        if (r.code !== 0) this.#warn(`${op} ${ref.table} ${ref.chain}`, r);
      }
      removed.push(`${family === 4 ? "iptables" : "ip6tables"} chain ${ref.table} ${ref.chain}`);
    }
    return removed;
  }

  #warn(what: string, r: CmdResult): void {
    this.log.error(`cannot ${what}: ${(r.stderr || r.stdout).trim().split("\n")[0] || `exit ${r.code}`}`);
  }
}

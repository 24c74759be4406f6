/**
 * Managed NAT's lifecycle on fake tools (a recording `run`), a fake /proc/sys and a temp
 * state folder: tool choice, order of changes, crash leftovers (at start with or without
 * --nat, and by hand), undo on failure, teardown.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type RecordingLogger, recordingLogger } from "../../lib/log.ts";
import { type CmdResult, type NatDeps, type NatOptions, setupNat } from "../../../src/platform/linux/nat.ts";
import { removeNatLeftovers } from "../../../src/platform/linux/nat-state.ts";

let dir: string;
let calls: string[];
let log: RecordingLogger;
/** Answers by command line prefix; default exit 0 with no output. */
let answers: Array<[string, Partial<CmdResult> | (() => Partial<CmdResult>)]>;
let bootId: string;
let running: Set<number>;
let links: Set<string>;

const proc = (rel: string) => join(dir, "proc", rel);
const put = (rel: string, v: string) => {
  mkdirSync(dirname(proc(rel)), { recursive: true });
  writeFileSync(proc(rel), `${v}\n`);
};
const get = (rel: string) => readFileSync(proc(rel), "utf8").trim();

function deps(tools: string[]): NatDeps {
  return {
    run(argv, stdin) {
      const line = argv.join(" ") + (stdin ? ` <<${stdin.split("\n")[0]}` : "");
      calls.push(line);
      const hit = answers.find(([prefix]) => line.startsWith(prefix));
      const a = hit?.[1];
      return { code: 0, stdout: "", stderr: "", ...(typeof a === "function" ? a() : a) };
    },
    which: (cmd) => (tools.includes(cmd) ? cmd : null),
    procSys: join(dir, "proc"),
    netnsId: () => "4026531840",
    bootId: () => bootId,
    linkExists: (name) => links.has(name),
    serverRunning: (pid) => running.has(pid),
    defaultRoute4: () => ({ gateway: "192.0.2.1", dev: "eth0" }),
    defaultRoute6: () => null,
  };
}

const opts = (o: Partial<NatOptions> = {}): NatOptions => ({
  tun: "wn0", mtu: 1400, pool4: "10.8.0.0/24", pool6: null, stateDir: join(dir, "state"), log, ...o,
});
const stateFiles = () => (existsSync(join(dir, "state")) ? readdirSync(join(dir, "state")) : []);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "warren-nat-"));
  calls = [];
  log = recordingLogger();
  answers = [];
  bootId = "boot-1";
  running = new Set();
  links = new Set();
  put("net/ipv4/ip_forward", "0");
  put("net/ipv4/conf/all/forwarding", "0");
  put("net/ipv6/conf/all/forwarding", "0");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("setupNat", () => {
  test("no nft and no iptables: one line naming the package; nothing run, nothing written", () => {
    expect(() => setupNat(opts(), deps([]))).toThrow(/^--nat needs nft or iptables.*install the Debian package nftables/);
    expect(calls).toEqual([]);
    expect(get("net/ipv4/ip_forward")).toBe("0");
    expect(stateFiles()).toEqual([]);
  });

  test("iptables without ip6tables cannot serve an IPv6 pool", () => {
    expect(() => setupNat(opts({ pool6: "fd00:8::/64" }), deps(["iptables"]))).toThrow(/--nat needs nft or iptables/);
  });

  test("no default route and no --nat-out: an error before any change", () => {
    const d = { ...deps(["nft"]), defaultRoute4: () => null };
    expect(() => setupNat(opts(), d)).toThrow(/no IPv4 default route.*--nat-out/);
    expect(calls).toEqual([]);
    expect(stateFiles()).toEqual([]);
  });

  test("nft: forwarding on, table loaded, drop chains looked up; teardown undoes it once", () => {
    const nat = setupNat(opts(), deps(["nft", "iptables"]));
    expect(nat.tool).toBe("nft");
    expect(nat.out4).toBe("eth0");
    expect(get("net/ipv4/ip_forward")).toBe("1");
    expect(calls).toEqual(["nft -f - <<table inet warren_wn0", "nft -j list chains"]);
    expect(stateFiles()).toEqual(["nat-wn0-4026531840.json"]);
    expect(nat.describe()).toBe("masquerade 10.8.0.0/24 out of eth0 via nft table inet warren_wn0; forwarding on, only out of eth0; TCP MSS clamped to 1360");
    calls = [];
    nat.teardown();
    nat.teardown();
    expect(calls).toEqual(["nft delete table inet warren_wn0", "nft -a -j list ruleset"]);
    expect(get("net/ipv4/ip_forward")).toBe("0");
    expect(stateFiles()).toEqual([]);
  });

  test("nft: iptables-nft FORWARD DROP is opened with iptables, a native drop chain with tagged nft rules", () => {
    answers.push(["nft -j list chains", { stdout: JSON.stringify({ nftables: [
      { chain: { family: "ip", table: "filter", name: "FORWARD", hook: "forward", policy: "drop" } },
      { chain: { family: "inet", table: "fw", name: "f", hook: "forward", policy: "drop" } },
    ] }) }]);
    answers.push(["iptables -V", { stdout: "iptables v1.8.9 (nf_tables)\n" }]);
    answers.push(["iptables -w 5 -t nat -S", { code: 1 }]);
    setupNat(opts(), deps(["nft", "iptables"]));
    expect(calls).toContain("iptables -w 5 -t filter -I FORWARD 1 -j WARREN-FWD-wn0");
    expect(calls.some((c) => c.includes("TCPMSS") || c.includes("MASQUERADE"))).toBe(false);
    expect(calls).toContain('nft -f - <<insert rule inet fw f oifname "wn0" ip daddr 10.8.0.0/24 ct state established,related accept comment "warren:wn0"');
    const state = JSON.parse(readFileSync(join(dir, "state", stateFiles()[0] as string), "utf8"));
    expect(state).toMatchObject({ nftTable: "warren_wn0", iptables: [4] });
  });

  test("nft: a legacy iptables binary does not manage the nft FORWARD chain, so nft opens it", () => {
    answers.push(["nft -j list chains", { stdout: JSON.stringify({ nftables: [{ chain: { family: "ip", table: "filter", name: "FORWARD", hook: "forward", policy: "drop" } }] }) }]);
    answers.push(["iptables -V", { stdout: "iptables v1.8.9 (legacy)\n" }]);
    setupNat(opts(), deps(["nft", "iptables"]));
    expect(calls.filter((c) => c.startsWith("iptables -w"))).toEqual([]);
    expect(calls.some((c) => c.startsWith("nft -f - <<insert rule ip filter FORWARD"))).toBe(true);
  });

  test("iptables: both families with --pool6, teardown removes jumps then chains", () => {
    put("net/ipv6/conf/eth0/forwarding", "0");
    const nat = setupNat(opts({ pool6: "fd00:8::/64", outInterface: "uplink" }), deps(["iptables", "ip6tables"]));
    expect(nat.tool).toBe("iptables");
    expect(nat.out6).toBe("uplink");
    expect(calls).toContain("iptables -w 5 -t nat -A WARREN-NAT-wn0 -s 10.8.0.0/24 -o uplink -j MASQUERADE");
    expect(calls).toContain("ip6tables -w 5 -t nat -A WARREN-NAT-wn0 -s fd00:8::/64 -o uplink -j MASQUERADE");
    expect(get("net/ipv6/conf/all/forwarding")).toBe("1");
    calls = [];
    let deletes = 0; // the jump exists once: the second delete fails
    answers.push(["iptables -w 5 -t filter -D FORWARD", () => ({ code: ++deletes > 1 ? 1 : 0 })]);
    nat.teardown();
    expect(calls.slice(0, 5)).toEqual([
      "iptables -w 5 -t filter -S WARREN-FWD-wn0",
      "iptables -w 5 -t filter -D FORWARD -j WARREN-FWD-wn0",
      "iptables -w 5 -t filter -D FORWARD -j WARREN-FWD-wn0",
      "iptables -w 5 -t filter -F WARREN-FWD-wn0",
      "iptables -w 5 -t filter -X WARREN-FWD-wn0",
    ]);
    expect(calls.some((c) => c.startsWith("ip6tables -w 5 -t nat -X WARREN-NAT-wn0"))).toBe(true);
    expect(get("net/ipv6/conf/all/forwarding")).toBe("0");
    expect(get("net/ipv6/conf/eth0/forwarding")).toBe("0");
  });

  test("a crashed run's state file is replayed first: its table deleted, its sysctls restored", () => {
    mkdirSync(join(dir, "state"));
    writeFileSync(join(dir, "state", "nat-wn0-4026531840.json"), JSON.stringify({
      version: 1, pid: 4242, tun: "wn0", nftTable: "warren_wn0", iptables: [],
      sysctls: { "net/ipv4/ip_forward": "0", "../../etc/passwd": "x" },
    }));
    put("net/ipv4/ip_forward", "1");
    const nat = setupNat(opts(), deps(["nft"]));
    expect(calls.slice(0, 2)).toEqual(["nft delete table inet warren_wn0", "nft -a -j list ruleset"]);
    expect(log.lines).toContain(
      `warn removed what an earlier run (pid 4242) left behind on wn0: nft table inet warren_wn0, sysctl net.ipv4.ip_forward=0, state file ${join(dir, "state", "nat-wn0-4026531840.json")}`,
    );
    // restored to 0, then switched on again by this run, which recorded 0 as the original
    expect(get("net/ipv4/ip_forward")).toBe("1");
    nat.teardown();
    expect(get("net/ipv4/ip_forward")).toBe("0");
  });

  test("a failing rule load undoes everything and reports one line", () => {
    answers.push(["nft -f -", { code: 1, stderr: "Error: Could not process rule: No such file or directory\nmore" }]);
    expect(() => setupNat(opts(), deps(["nft"]))).toThrow(/^cannot add NAT rules: nft -f - <<table inet warren_wn0\.\.\.: Error: Could not process rule: No such file or directory$/);
    expect(get("net/ipv4/ip_forward")).toBe("0");
    expect(stateFiles()).toEqual([]);
    expect(calls).toContain("nft delete table inet warren_wn0");
  });

  test("IPv6 forwarding on an uplink that takes router advertisements: a warning", () => {
    put("net/ipv6/conf/eth0/accept_ra", "1");
    setupNat(opts({ pool6: "fd00:8::/64" }), deps(["nft"]));
    expect(log.lines.some((l) => l.startsWith("warn IPv6 forwarding makes eth0 ignore router advertisements"))).toBe(true);
  });

  test("--nat-allow prefixes show in the summary line", () => {
    const nat = setupNat(opts({ allow: ["10.99.0.0/24"] }), deps(["nft"]));
    expect(nat.describe()).toContain("forwarding on, only out of eth0 and to 10.99.0.0/24;");
    expect(calls[0]).toBe("nft -f - <<table inet warren_wn0");
  });

  test("forwarding already on: left on after teardown", () => {
    put("net/ipv4/ip_forward", "1");
    setupNat(opts(), deps(["nft"])).teardown();
    expect(get("net/ipv4/ip_forward")).toBe("1");
  });
});

describe("crash leftovers", () => {
  const statePath = (tun: string, netns = "4026531840") => join(dir, "state", `nat-${tun}-${netns}.json`);
  const leave = (tun: string, o: Record<string, unknown> = {}, netns?: string) => {
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(statePath(tun, netns), JSON.stringify({
      version: 1, pid: 4242, bootId: "boot-1", tun, nftTable: `warren_${tun}`, iptables: [], sysctls: { "net/ipv4/ip_forward": "0" }, ...o,
    }));
  };
  const leftovers = (o: { tun?: string; checkRunning?: boolean; byName?: boolean } = {}) =>
    removeNatLeftovers({ stateDir: join(dir, "state"), checkRunning: false, log, ...o }, deps(["nft"]));

  test("setupNat records the boot id and its pid in the state file", () => {
    setupNat(opts(), deps(["nft"]));
    expect(JSON.parse(readFileSync(statePath("wn0"), "utf8"))).toMatchObject({ version: 1, pid: process.pid, bootId: "boot-1", tun: "wn0" });
  });

  test("a start without --nat undoes the leftover of its TUN: rules, sysctls, state file; reports each", () => {
    leave("wn0");
    put("net/ipv4/ip_forward", "1");
    answers.push(["nft -a -j list ruleset", { stdout: JSON.stringify({ nftables: [{ rule: { family: "ip", table: "filter", chain: "FORWARD", handle: 7, comment: "warren:wn0" } }] }) }]);
    expect(leftovers({ tun: "wn0" })).toEqual([{
      tun: "wn0", pid: 4242,
      removed: ["nft table inet warren_wn0", "1 nft rules tagged warren:wn0", "sysctl net.ipv4.ip_forward=0", `state file ${statePath("wn0")}`],
    }]);
    expect(calls).toContain("nft -f - <<delete rule ip filter FORWARD handle 7");
    expect(get("net/ipv4/ip_forward")).toBe("0");
    expect(stateFiles()).toEqual([]);
    calls = [];
    expect(leftovers({ tun: "wn0" })).toEqual([]); // idempotent: nothing left
    expect(calls).toEqual([]);
  });

  test("a table already gone and sysctls already back: reported as the state file only", () => {
    leave("wn0");
    answers.push(["nft delete table", { code: 1, stderr: "Error: No such file or directory" }]);
    expect(leftovers({ tun: "wn0" })[0]?.removed).toEqual([`state file ${statePath("wn0")}`]);
    expect(log.lines.filter((l) => l.startsWith("error"))).toEqual([]);
  });

  test("a state file of an earlier boot is deleted without touching rules or sysctls", () => {
    leave("wn0", { bootId: "boot-0" });
    put("net/ipv4/ip_forward", "1");
    const [r] = leftovers({ tun: "wn0" });
    expect(r?.note).toMatch(/before the last reboot/);
    expect(calls).toEqual([]);
    expect(get("net/ipv4/ip_forward")).toBe("1");
    expect(stateFiles()).toEqual([]);
  });

  test("by hand: every TUN of this namespace, a running server left alone, other namespaces untouched", () => {
    leave("wn0");
    leave("wn-1", { pid: 5000 });
    leave("wn2", {}, "4026532999");
    running.add(5000);
    const reports = leftovers({ checkRunning: true });
    expect(reports.map((r) => [r.tun, r.removed.length > 0, r.note ?? ""])).toEqual([
      ["wn-1", false, "warren server pid 5000 is running: left alone"],
      ["wn0", true, ""],
    ]);
    expect(stateFiles().sort()).toEqual(["nat-wn-1-4026531840.json", "nat-wn2-4026532999.json"]);
  });

  test("by name: without a state file, warren's rules of a TUN that does not exist are still found", () => {
    expect(leftovers({ tun: "wn0", byName: true })).toEqual([{ tun: "wn0", pid: 0, removed: ["nft table inet warren_wn0"], note: "no state file: found by name" }]);
    links.add("wn0");
    calls = [];
    expect(leftovers({ tun: "wn0", byName: true })).toEqual([]); // the TUN exists: its server may be running
    expect(calls).toEqual([]);
  });
});

/**
 * `warren cleanup` on fake tools: what it prints for leftovers, for a running server and
 * for a clean namespace, its exit status, and usage errors.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLEANUP_HELP, runCleanup } from "../../../src/cli/cleanup.ts";
import type { CmdResult, NatDeps } from "../../../src/platform/linux/nat-ops.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-cleanup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fakeDeps(answer: (argv: string[]) => Partial<CmdResult> = () => ({})): NatDeps {
  mkdirSync(join(dir, "proc/net/ipv4"), { recursive: true });
  writeFileSync(join(dir, "proc/net/ipv4/ip_forward"), "1\n");
  return {
    run: (argv) => ({ code: 0, stdout: "", stderr: "", ...answer(argv) }),
    which: (cmd) => (cmd === "nft" ? "nft" : null),
    procSys: join(dir, "proc"),
    netnsId: () => "77",
    bootId: () => "b",
    linkExists: () => false,
    serverRunning: (pid) => pid === 9999,
    defaultRoute4: () => null,
    defaultRoute6: () => null,
  };
}

function leave(tun: string, pid: number): void {
  mkdirSync(join(dir, "state"), { recursive: true });
  writeFileSync(join(dir, "state", `nat-${tun}-77.json`), JSON.stringify({
    version: 1, pid, bootId: "b", tun, nftTable: `warren_${tun}`, iptables: [], sysctls: { "net/ipv4/ip_forward": "0" },
  }));
}

function cleanup(argv: string[], deps = fakeDeps()): { code: number; out: string[] } {
  const out: string[] = [];
  const code = runCleanup(["--state-dir", join(dir, "state"), ...argv], deps, (l) => out.push(l));
  return { code, out };
}

describe("warren cleanup", () => {
  test("says what it removed per TUN, leaves a running server alone, then finds nothing", () => {
    leave("wa0", 4242);
    leave("wb0", 9999);
    expect(cleanup([])).toEqual({
      code: 0,
      out: [
        "wa0: removed what warren pid 4242 left behind:",
        "  nft table inet warren_wa0",
        "  sysctl net.ipv4.ip_forward=0",
        `  state file ${join(dir, "state", "nat-wa0-77.json")}`,
        "wb0: warren server pid 9999 is running: left alone",
      ],
    });
    const gone = fakeDeps((argv) => (argv[1] === "delete" ? { code: 1, stderr: "Error: No such file or directory" } : {}));
    expect(cleanup(["--tun", "wa0"], gone)).toEqual({ code: 0, out: ["nothing to clean up"] });
    rmSync(join(dir, "state"), { recursive: true });
    expect(cleanup([], gone)).toEqual({ code: 0, out: ["nothing to clean up"] });
    // without a state file, --tun also looks for warren's rules by name
    expect(cleanup(["--tun", "wa0"]).out).toEqual(["wa0: removed what warren left behind (no state file: found by name):", "  nft table inet warren_wa0"]);
  });

  test("a removal that fails is reported on stderr and exits 1", () => {
    leave("wa0", 4242);
    const r = cleanup(["--tun", "wa0"], fakeDeps((argv) => (argv[1] === "delete" ? { code: 1, stderr: "Error: Operation not permitted" } : {})));
    expect(r.code).toBe(1);
    expect(r.out[0]).toBe("wa0: removed what warren pid 4242 left behind:");
  });

  test("help, and usage errors naming the option", () => {
    expect(cleanup(["--help"])).toEqual({ code: 0, out: [CLEANUP_HELP] });
    expect(() => cleanup(["--tun", "no/slash"])).toThrow(/^tun: expected an interface name/);
    expect(() => cleanup(["--state-dir", "relative"])).toThrow(/^stateDir: expected an absolute path/);
    expect(() => cleanup(["extra"])).toThrow(/unexpected argument "extra"/);
  });
});

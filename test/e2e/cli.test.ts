/**
 * @module cli.test
 * The compiled binary (dist/warren, rebuilt when stale) answers usage and configuration
 * errors with exit status 2, runtime failures with 1, and --help/--version with 0, each
 * error as exactly one line on stderr. No root needed and nothing touches the network:
 * every `server` run fails before a TUN exists (those past the control socket claim
 * also name a missing --token-key-file, which fails first if a check ever regressed).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenControl } from "../../src/admin/control.ts";
import { ok } from "../../src/admin/control-protocol.ts";
import { quietLogger } from "../lib/log.ts";
import { run } from "./proc.ts";
import { ensureWarren } from "./tools.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-cli-"));
const nobody = join(dir, "nobody.sock");
const SAFE = ["--pool", "10.252.0.0/24", "--tun", "wcli0", "--token-key-file", join(dir, "no.key"), "--log-level", "silent"];
let bin = "";

beforeAll(async () => {
  bin = await ensureWarren();
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the binary: [exit status, stderr]. */
async function warren(...args: string[]): Promise<[number, string]> {
  const r = await run([bin, ...args], { timeoutMs: 15_000 });
  expect(r.timedOut).toBe(false);
  return [r.code, r.stderr];
}

describe("exit status 0", () => {
  test("--version, --help, help CMD", async () => {
    const v = await run([bin, "--version"]);
    expect([v.code, v.stderr]).toEqual([0, ""]);
    expect(v.stdout).toMatch(/^warren \S+ \(commit \S+, built \S+\)\n$/);
    for (const args of [["--help"], ["server", "--help"], ["help", "set"], ["status", "-h"]]) {
      const r = await run([bin, ...args]);
      expect([args, r.code, r.stderr]).toEqual([args, 0, ""]);
      expect(r.stdout).toContain("examples:");
    }
  });
});

describe("exit status 2: usage and configuration", () => {
  test("no command, and help for nothing known: the usage", async () => {
    const [code, err] = await warren();
    expect(code).toBe(2);
    expect(err).toStartWith("usage: warren <command>");
    const [code2, err2] = await warren("help", "foo");
    expect(code2).toBe(2);
    expect(err2).toEndWith('\nwarren: help: no help for "foo"; see the commands above\n');
  });

  test("one line each", async () => {
    const cases: Array<[string[], string]> = [
      [["frob"], 'warren: unknown command "frob"; see warren --help'],
      [["get", "x", "--control-socket", nobody], 'warren: get: expected a setting: log-level, idle-timeout, isolate, max-clients or secret (got "x")'],
      [["set", "idle-timeout", "5", "--control-socket", nobody], 'warren: idle-timeout: expected seconds from 10 to 86400 (got "5")'],
      [["server", "--secret"], "warren: --secret: expected a value"],
      [["server", "--max-clients", "-1"], 'warren: --max-clients: expected an integer from 0 to 16777216 (got "-1")'],
      [["server", "--log-max-size", "10Q"], 'warren: --log-max-size: expected a size from 1024 to 1099511627776 bytes, e.g. 4096, 512K or 10M (got "10Q")'],
      [["server", "--log-level", "loud"], 'warren: --log-level: expected one of silent, error, warn, info, debug, trace (got "loud")'],
      [["server", "--nope"], "warren: --nope: unknown option (see warren server --help)"],
      [["server", "-c", join(dir, "missing.json")], `warren: config: ${join(dir, "missing.json")}: cannot read: no such file or directory`],
      [["server", ...SAFE, "--control-socket", join(dir, "a.sock"), "--capture-dir", "/proc/nope/x"], 'warren: --capture-dir: cannot create the folder: no such file or directory (got "/proc/nope/x")'],
      [["server", ...SAFE, "--control-socket", "none", "--pool", "127.0.0.0/24"], 'warren: --pool: overlaps 127.0.0.1/8 on interface lo; pick a free range (got "127.0.0.0/24")'],
      [["client", "-s", "vpn"], "warren: --secret: required: give --secret S or set WARREN_SECRET"],
    ];
    for (const [args, line] of cases) expect([args, ...(await warren(...args))]).toEqual([args, 2, `${line}\n`]);
  });
});

describe("exit status 1: runtime", () => {
  test("no server to ask", async () => {
    expect(await warren("status", "--control-socket", nobody)).toEqual([1, `warren: no warren server is running (no control socket at ${nobody}; see --control-socket)\n`]);
  });

  test("a control socket another warren answers on", async () => {
    const sock = join(dir, "taken.sock");
    const other = listenControl(sock, (req) => (req.cmd === "hello" ? ok({ pid: 4242, version: "other" }) : ok({})), quietLogger);
    try {
      expect(await warren("server", ...SAFE, "--control-socket", sock)).toEqual([
        1, `warren: control socket ${sock}: another warren (pid 4242) answers there; give this server its own --control-socket PATH, or --control-socket none\n`,
      ]);
    } finally {
      other.stop();
    }
  });
});

/**
 * @module main.test
 * runMain (src/main.ts) in process: the exact one-line message and the exit status
 * of every usage, configuration and start-up error the operator can meet (2 = usage
 * or configuration, 1 = runtime). No root needed: every `server` case fails before a
 * TUN is opened, and those that pass the control socket claim carry a missing
 * --token-key-file as a backstop that fails before the TUN too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listenControl } from "../../src/admin/control.ts";
import { ok } from "../../src/admin/control-protocol.ts";
import { ConfigError, WarrenError } from "../../src/lib/errors.ts";
import { versionLine } from "../../src/lib/version.ts";
import { exitStatus, runMain, USAGE } from "../../src/main.ts";
import { quietLogger } from "../lib/log.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-main-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const noServer = join(dir, "nobody.sock");
/** Flags that keep a `warren server` run from reaching anything but its checks. */
const SAFE = ["--pool", "10.251.0.0/24", "--tun", "wmain0", "--token-key-file", join(dir, "no.key"), "--log-level", "silent"];

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runMain(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

/** Runs argv and returns [exit status, last stderr line]. */
async function line(...argv: string[]): Promise<[number, string]> {
  const r = await run(...argv);
  return [r.code, r.err.trimEnd().split("\n").at(-1) ?? ""];
}

describe("usage", () => {
  test("no command: the usage on stderr, exit 2; --help and help: on stdout, exit 0", async () => {
    expect(await run()).toEqual({ code: 2, out: "", err: `${USAGE}\n` });
    expect(await run("--help")).toEqual({ code: 0, out: `${USAGE}\n`, err: "" });
    expect(await run("help")).toEqual({ code: 0, out: `${USAGE}\n`, err: "" });
    expect(USAGE).toContain("-V, --version");
  });

  test("help for an unknown topic, and an unknown command: exit 2", async () => {
    const r = await run("help", "foo");
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${USAGE}\nwarren: help: no help for "foo"; see the commands above\n`);
    expect(await line("frob")).toEqual([2, 'warren: unknown command "frob"; see warren --help']);
  });

  test("--version", async () => {
    expect(await run("--version")).toEqual({ code: 0, out: `${versionLine()}\n`, err: "" });
    expect((await run("-V")).out).toBe(`${versionLine()}\n`);
  });
});

describe("the admin commands", () => {
  test("a bad key or value is a usage error, found before any server is asked", async () => {
    expect(await line("set", "idle-timeout", "5", "--control-socket", noServer)).toEqual([2, 'warren: idle-timeout: expected seconds from 10 to 86400 (got "5")']);
    expect(await line("set", "max-clients", "-1", "--control-socket", noServer)).toEqual([2, 'warren: max-clients: expected an integer from 0 to 16777216 (got "-1")']);
    const keys = "log-level, idle-timeout, isolate, max-clients or secret";
    expect(await line("get", "nonsense", "--control-socket", noServer)).toEqual([2, `warren: get: expected a setting: ${keys} (got "nonsense")`]);
    expect(await line("get", "secret", "--control-socket", noServer)).toEqual([2, "warren: get: secret is write-only; warren set secret - sets a new one"]);
    expect(await line("status", "--json=1")).toEqual([2, 'warren: --json: takes no value (got "1")']);
    expect(await line("clients", "--file", "x")).toEqual([2, "warren: --file: unknown option (see warren clients --help)"]);
    expect(await line("status", "--control-socket", "none")).toEqual([2, 'warren: --control-socket: "none" means no control socket, and this command needs one (got "none")']);
  });

  test("no server to talk to is a runtime failure", async () => {
    expect(await line("get", "idle-timeout", "--control-socket", noServer)).toEqual([1, `warren: no warren server is running (no control socket at ${noServer}; see --control-socket)`]);
  });
});

describe("warren server: errors before anything is opened", () => {
  test("the option parser's cases, in warren's words", async () => {
    expect(await line("server", "--secret")).toEqual([2, "warren: --secret: expected a value"]);
    expect(await line("server", "--max-clients", "-1")).toEqual([2, 'warren: --max-clients: expected an integer from 0 to 16777216 (got "-1")']);
    expect(await line("server", "--log-max-size", "10Q")).toEqual([2, 'warren: --log-max-size: expected a size from 1024 to 1099511627776 bytes, e.g. 4096, 512K or 10M (got "10Q")']);
    expect(await line("server", "--log-level", "loud")).toEqual([2, 'warren: --log-level: expected one of silent, error, warn, info, debug, trace (got "loud")']);
    expect(await line("server", "--log-format", "xml")).toEqual([2, 'warren: --log-format: expected auto, text or json (got "xml")']);
    expect(await line("server", "--idle-timeout", "5")).toEqual([2, 'warren: --idle-timeout: expected seconds from 10 to 86400 (got "5")']);
    expect(await line("server", "--max-clients", "300")).toEqual([2, 'warren: --max-clients: the pool 10.8.0.0/24 has 253 client addresses: use at most 253, or 0 for all (got "300")']);
    // the value as given, not what it parsed to (it said "got NaN")
    expect(await line("server", "--lease-max-age", "1y")).toEqual([2, 'warren: --lease-max-age: expected a duration from 60 to 315360000 seconds (e.g. 3600, 15m, 12h, 30d) (got "1y")']);
    expect(await line("server", "--lease-max-age", "5")).toEqual([2, 'warren: --lease-max-age: expected a duration from 60 to 315360000 seconds (e.g. 3600, 15m, 12h, 30d) (got "5")']);
  });

  test("the config file: its path and key, no doubled prefix, line and column", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ idleTimeout: 5 }));
    expect(await line("server", "-c", bad)).toEqual([2, `warren: config: ${bad}: idleTimeout: expected seconds from 10 to 86400 (got 5)`]);
    const missing = join(dir, "missing.json");
    expect(await line("server", "-c", missing)).toEqual([2, `warren: config: ${missing}: cannot read: no such file or directory`]);
    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{"tun": "w0",}');
    expect(await line("server", "-c", broken)).toEqual([2, `warren: config: ${broken}: invalid JSON at line 1, column 14: expected another key after "," (JSON allows no trailing comma) (got "}")`]);
  });

  test("a setting found bad while starting is named as given", async () => {
    const sock = join(dir, "ctl-a.sock");
    expect(await line("server", ...SAFE, "--control-socket", sock, "--capture-dir", "/proc/nope/x")).toEqual([
      2, 'warren: --capture-dir: cannot create the folder: no such file or directory (got "/proc/nope/x")',
    ]);
    expect(await line("server", ...SAFE, "--control-socket", "none")).toEqual([2, `warren: --token-key-file: cannot read ${join(dir, "no.key")}: no such file or directory`]);
    // files the server makes before anything else: exit 2 naming the flag (they were exit 1, "ENOENT")
    expect(await line("server", ...SAFE, "--control-socket", "none", "--log-file", "/proc/nope/x.log")).toEqual([
      2, 'warren: --log-file: cannot open it: no such file or directory (got "/proc/nope/x.log")',
    ]);
    expect(await line("server", ...SAFE, "--control-socket", "none", "--pid-file", "/proc/nope/x.pid")).toEqual([
      2, 'warren: --pid-file: cannot create its folder: no such file or directory (got "/proc/nope/x.pid")',
    ]);
  });

  test("a pool holding an address of another interface is refused, naming it", async () => {
    expect(await line("server", ...SAFE, "--control-socket", "none", "--pool", "127.0.0.0/24")).toEqual([
      2, 'warren: --pool: overlaps 127.0.0.1/8 on interface lo; pick a free range (got "127.0.0.0/24")',
    ]);
  });

  test("a control socket another warren answers on: exit 1, one line", async () => {
    const sock = join(dir, "taken.sock");
    const other = listenControl(sock, (req) => (req.cmd === "hello" ? ok({ pid: 4242, version: "other" }) : ok({})), quietLogger);
    try {
      expect(await line("server", ...SAFE, "--control-socket", sock)).toEqual([
        1, `warren: control socket ${sock}: another warren (pid 4242) answers there; give this server its own --control-socket PATH, or --control-socket none`,
      ]);
    } finally {
      other.stop();
    }
  });
});

describe("the other commands", () => {
  test("client, user, token, watchdog", async () => {
    expect(await line("client")).toEqual([2, "warren: --server: required, e.g. --server vpn.example.org:8000"]);
    expect(await line("client", "-s", "vpn", "--routes", "all", "--secret", "s")).toEqual([2, 'warren: --routes: expected pushed or none (got "all")']);
    expect(await line("user", "frob")).toEqual([2, 'warren: user: expected add, del, list, enable, disable or passwd (got "frob")']);
    expect(await line("user", "add", "--users", join(dir, "u.json"))).toEqual([2, "warren: user add: a NAME is required (see warren user --help)"]);
    expect(await line("token", "issue", "--id", "a b")).toEqual([2, `warren: --id: expected 1-64 letters, digits, '.', '_', '-' or '@' (got "a b")`]);
    expect(await line("token", "issue", "--id", "x", "--key-file", join(dir, "none.key"))).toEqual([
      2, `warren: --key-file: cannot read the file: no such file or directory (got "${join(dir, "none.key")}")`,
    ]);
    expect(await line("watchdog")).toEqual([2, "warren: --config: required: the server's config file (see warren watchdog --help)"]);
    const nosecret = join(dir, "nosecret.json");
    writeFileSync(nosecret, "{}");
    expect(await line("watchdog", "-c", nosecret)).toEqual([2, `warren: config: ${nosecret}: secret: required: a generated secret would change at every restart`]);
  });
});

describe("exitStatus", () => {
  test("usage and configuration codes are 2, everything else 1", () => {
    expect(exitStatus(new ConfigError("x", "bad"))).toBe(2);
    expect(exitStatus(new WarrenError("ERR_BAD_VALUE", "idle-timeout: ..."))).toBe(2);
    expect(exitStatus(new WarrenError("ERR_WRITE_ONLY", "the secret is write-only"))).toBe(2);
    expect(exitStatus(new WarrenError("ERR_NOT_FOUND", "no client matches"))).toBe(1);
    expect(exitStatus(new WarrenError("ERR_CONTROL_IN_USE", "taken"))).toBe(1);
    expect(exitStatus(new Error("boom"))).toBe(1);
  });
});

/**
 * @module load.test
 * loadSettings (src/config/load.ts): each bad setting is named where it was given
 * (the flag as typed, the environment variable, or the file and key), the value is
 * echoed, several problems share one line, and a later message can name a setting
 * the same way (label, given).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServerArgs, serverConfigFromArgs } from "../../../src/cli/server.ts";
import { ConfigError } from "../../../src/lib/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-load-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

function message(argv: string[], env: Record<string, string> = {}): string {
  try {
    serverConfigFromArgs(argv, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(" ")}`);
}

describe("where a bad setting came from", () => {
  test("a flag: named as typed, the value echoed as given", () => {
    expect(message(["--idle-timeout", "5"])).toBe('--idle-timeout: expected seconds from 10 to 86400 (got "5")');
    expect(message(["--max-clients", "-1"])).toBe('--max-clients: expected an integer from 0 to 16777216 (got "-1")');
    expect(message(["--log-max-size", "10Q"])).toBe('--log-max-size: expected a size from 1024 to 1099511627776 bytes, e.g. 4096, 512K or 10M (got "10Q")');
    expect(message(["--log-level", "loud"])).toBe('--log-level: expected one of silent, error, warn, info, debug, trace (got "loud")');
    expect(message(["--log-format", "xml"])).toBe('--log-format: expected auto, text or json (got "xml")');
    expect(message(["-l", "8000"])).toBe('-l: expected HOST:PORT with an IP literal and a port 1-65535, e.g. [::]:8000 or 0.0.0.0:8000 (got "8000")');
    expect(message(["--dns", "1.1.1.1", "--dns", "nope"])).toBe('--dns: expected an IPv4 or IPv6 address (got "nope")');
  });

  test("the environment: the variable's name; a secret is never echoed", () => {
    expect(message([], { WARREN_CONTROL_SOCKET: `/tmp/${"x".repeat(110)}` })).toMatch(/^WARREN_CONTROL_SOCKET: expected a socket path of at most 107 bytes \(got "\/tmp\/x+"\)$/);
    expect(message([], { WARREN_SECRET: "a\u0000b" })).toBe("WARREN_SECRET: expected 1-512 characters without NUL");
  });

  test("the file: `config: FILE: key`, its value as JSON", () => {
    const p = file("bad.json", { idleTimeout: 5, mtu: "big", frob: 1 });
    expect(message(["--config", p])).toBe(
      `config: ${p}: mtu: expected an integer from 576 to 32767 (got "big"); config: ${p}: idleTimeout: expected seconds from 10 to 86400 (got 5); config: ${p}: frob: unknown setting`,
    );
    const nested = file("nat.json", { nat: { enabled: "maybe" } });
    expect(message(["-c", nested])).toBe(`config: ${nested}: nat.enabled: expected true or false (got "maybe")`);
  });

  test("a flag over a bad file value wins, and is the one named", () => {
    const p = file("over.json", { idleTimeout: 5 });
    expect(serverConfigFromArgs(["-c", p, "--idle-timeout", "60"], {})).toMatchObject({ idleTimeout: 60 });
    expect(message(["-c", p, "--idle-timeout", "7"])).toBe('--idle-timeout: expected seconds from 10 to 86400 (got "7")');
  });

  test("config file problems: one prefix, line and column for bad JSON", () => {
    const missing = join(dir, "missing.json");
    expect(message(["-c", missing])).toBe(`config: ${missing}: cannot read: no such file or directory`);
    const broken = file("broken.json", '{\n  "mtu": 1400\n  "tun": "w0"\n}');
    expect(message(["-c", broken])).toBe(`config: ${broken}: invalid JSON at line 3, column 3: expected "," or "}" (got "\\"")`);
    expect(message(["-c", dir])).toBe(`config: ${dir}: cannot read: illegal operation on a directory`);
  });

  test("--max-clients beyond the pool, named where it was given", () => {
    expect(message(["--max-clients", "300"])).toBe('--max-clients: the pool 10.8.0.0/24 has 253 client addresses: use at most 253, or 0 for all (got "300")');
    const p = file("max.json", { pool: "10.9.0.0/28", maxClients: 20 });
    expect(message(["-c", p])).toBe(`config: ${p}: maxClients: the pool 10.9.0.0/28 has 13 client addresses: use at most 13, or 0 for all (got 20)`);
    expect(serverConfigFromArgs(["--pool", "10.9.0.0/28", "--max-clients", "13"], {})).toMatchObject({ maxClients: 13 });
  });

  test("label and given name settings for later checks", () => {
    const p = file("ok.json", { pool: "10.9.0.0/24", tokenKeyFile: "/nonexistent" });
    const loaded = loadServerArgs(["-c", p, "--capture-dir", "/x", "-l", "[::]:9000"], { WARREN_SECRET: "s3cret" });
    if (loaded === "help") throw new Error("help");
    expect(loaded.label("captureDir")).toBe("--capture-dir");
    expect(loaded.label("listen")).toBe("-l");
    expect(loaded.label("secret")).toBe("WARREN_SECRET");
    expect(loaded.label("tokenKeyFile")).toBe(`config: ${p}: tokenKeyFile`);
    expect(loaded.label("mtu")).toBe("--mtu");
    expect(loaded.given("pool")).toBe("10.9.0.0/24");
    expect(loaded.given("mtu")).toBeUndefined();
    const later = new ConfigError("tokenKeyFile", "cannot read /nonexistent: ENOENT").named(loaded.label);
    expect(later.message).toBe(`config: ${p}: tokenKeyFile: cannot read /nonexistent: ENOENT`);
    expect(later.field).toBe("tokenKeyFile");
  });

  test("--control-socket none means no control socket", () => {
    expect(serverConfigFromArgs(["--control-socket", "none"], {})).toMatchObject({ controlSocket: null });
    expect(serverConfigFromArgs([], {})).toMatchObject({ controlSocket: "/run/warren/warren.sock" });
  });
});

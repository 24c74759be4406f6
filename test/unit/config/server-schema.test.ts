import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, validate } from "../../../src/config/load.ts";
import { ServerConfigSchema } from "../../../src/config/server-schema.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { serverConfigFromArgs } from "../../../src/cli/server.ts";

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("server config", () => {
  test("defaults", () => {
    const c = validate(ServerConfigSchema, {});
    expect(c.listen).toEqual({ host: "::", port: 8000 });
    expect(c.tun).toBe("warren0");
    expect(c.pool).toEqual({ family: 4, address: 0x0a080000, prefixLen: 24 });
    expect(c.mtu).toBe(1400);
    expect(c.dns).toEqual(["1.1.1.1"]);
    expect(c.routes).toEqual([{ family: 4, address: 0, prefixLen: 0 }]);
    expect(c.isolate).toBe(false);
    expect(c.idleTimeout).toBe(180);
    expect(c.secret).toBeUndefined();
    expect(c.stateDir).toBe("/var/lib/warren");
    expect(c.leaseMaxAge).toBe(30 * 86400);
  });

  test("--state-dir (env WARREN_STATE_DIR) and --lease-max-age in seconds or with a unit", () => {
    const cfg = (argv: string[], env: Record<string, string> = {}) => {
      const c = serverConfigFromArgs(argv, env);
      if (c === "help") throw new Error("unexpected help");
      return c;
    };
    expect(cfg([], { WARREN_STATE_DIR: "/srv/warren" }).stateDir).toBe("/srv/warren");
    expect(cfg(["--state-dir", "/x"], { WARREN_STATE_DIR: "/srv/warren" }).stateDir).toBe("/x");
    for (const [text, secs] of [["7d", 604800], ["12h", 43200], ["15m", 900], ["3600", 3600], ["90s", 90]] as const) {
      expect(cfg(["--lease-max-age", text]).leaseMaxAge).toBe(secs);
    }
  });

  test("each bad value names its field and what is expected, on one line", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ mtu: "abc" }, "mtu", /integer from 576 to 32767/],
      [{ mtu: 70000 }, "mtu", /got 70000/],
      [{ pool: "10.8.0.0/33" }, "pool", /CIDR/],
      [{ pool: "10.8.0.0/31" }, "pool", /too small/],
      [{ pool: "fd00::/64" }, "pool", /IPv4 CIDR/],
      [{ pool6: "10.0.0.0/8" }, "pool6", /IPv6 CIDR/],
      [{ listen: "8000" }, "listen", /HOST:PORT/],
      [{ listen: "[::]:70000" }, "listen", /port 1-65535/],
      [{ listen: "example.org:8000" }, "listen", /IP literal/],
      [{ tun: "a-very-long-interface-name" }, "tun", /1-15/],
      [{ tun: "bad/name" }, "tun", /interface name/],
      [{ dns: ["1.1.1"] }, "dns.0", /IPv4 or IPv6 address/],
      [{ routes: ["0.0.0.0/0", "nope"] }, "routes.1", /CIDR/],
      [{ idleTimeout: 1 }, "idleTimeout", /seconds from 10/],
      [{ logLevel: "loud" }, "logLevel", /silent, error, warn, info, debug, trace/],
      [{ secret: "" }, "secret", /1-512/],
      [{ isolate: "maybe" }, "isolate", /true or false/],
      [{ stateDir: "var/lib/warren" }, "stateDir", /absolute path/],
      [{ leaseMaxAge: "30 days" }, "leaseMaxAge", /duration from 60 to 315360000 seconds \(e\.g\. 3600, 15m, 12h, 30d\)/],
      [{ leaseMaxAge: 59 }, "leaseMaxAge", /got 59/],
      [{ frobnicate: 1 }, "frobnicate", /unknown setting/],
    ];
    for (const [raw, field, re] of cases) {
      const e = errorOf(() => validate(ServerConfigSchema, raw));
      expect(e.field).toBe(field);
      expect(e.message).toStartWith(`${field}: `);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain("\n");
    }
  });

  test("flags override the file, the file overrides defaults, env supplies the secret", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-cfg-"));
    const file = join(dir, "w.json");
    writeFileSync(file, JSON.stringify({ mtu: 1300, tun: "filetun", secret: "from-file", dns: ["9.9.9.9"] }));
    const c = serverConfigFromArgs(["--config", file, "--mtu", "1280", "--dns", "8.8.8.8", "--dns", "8.8.4.4", "--isolate"], {});
    if (c === "help") throw new Error("unexpected help");
    expect(c.mtu).toBe(1280);
    expect(c.tun).toBe("filetun");
    expect(c.dns).toEqual(["8.8.8.8", "8.8.4.4"]);
    expect(c.isolate).toBe(true);
    expect(c.secret).toBe("from-file");
    const e = loadConfig(ServerConfigSchema, {}, { WARREN_SECRET: "from-env" }, { WARREN_SECRET: "secret" });
    expect(e.secret).toBe("from-env");
    const f = serverConfigFromArgs(["--secret", "flag"], { WARREN_SECRET: "env" });
    expect(f !== "help" && f.secret).toBe("flag");
  });

  test("config file problems name the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "warren-cfg-"));
    const missing = join(dir, "missing.json");
    expect(errorOf(() => serverConfigFromArgs(["--config", missing], {})).message).toBe(`config: ${missing}: cannot read: no such file or directory`);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{ nope");
    expect(errorOf(() => serverConfigFromArgs(["--config", bad], {})).message).toBe(`config: ${bad}: invalid JSON at line 1, column 3: expected a key in double quotes (got "n")`);
    writeFileSync(bad, "[1]");
    expect(errorOf(() => serverConfigFromArgs(["--config", bad], {})).message).toMatch(/expected a JSON object of settings.*\(got an array\)$/);
  });

  test("unknown flags and stray arguments are usage errors", () => {
    expect(errorOf(() => serverConfigFromArgs(["--nope"], {})).message).toBe("--nope: unknown option (see warren server --help)");
    expect(errorOf(() => serverConfigFromArgs(["extra"], {})).message).toBe('unexpected argument "extra" (see warren server --help)');
    expect(errorOf(() => serverConfigFromArgs(["--mtu"], {})).message).toBe("--mtu: expected a value");
  });
});

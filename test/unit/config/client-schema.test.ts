/**
 * @module client-schema.test
 * `warren client` configuration: --server forms, required fields, defaults, the
 * environment secret, file + flag precedence, and one-line errors naming the field.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { clientConfigFromArgs, connectedLine } from "../../../src/cli/client.ts";
import { formatEndpoint } from "../../../src/protocol/ip.ts";
import { kebab } from "../../../src/cli/args.ts";
import { ClientConfigSchema, ServerAddressSchema } from "../../../src/config/client-schema.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { parseParams } from "../../../src/protocol/toyvpn.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-client-cfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const server = (s: string) => v.parse(ServerAddressSchema, s);

describe("--server", () => {
  test("host names, IPv4 and bracketed IPv6, port 8000 when left out", () => {
    expect(server("vpn.example.org:8000")).toEqual({ host: "vpn.example.org", port: 8000 });
    expect(server("10.77.1.1:9000")).toEqual({ host: "10.77.1.1", port: 9000 });
    expect(server("[2001:db8::1]:8000")).toEqual({ host: "2001:db8::1", port: 8000 });
    expect(server("vpn")).toEqual({ host: "vpn", port: 8000 });
    expect(server("[fd00::1]")).toEqual({ host: "fd00::1", port: 8000 });
  });

  test("rejects bad ports, bare IPv6 and junk, with a hint", () => {
    for (const bad of ["vpn:0", "vpn:70000", "vpn:", "-vpn:80", "a b:80", "[zz::1]:80", ""]) {
      expect(() => server(bad)).toThrow("expected HOST:PORT");
    }
    expect(() => server("2001:db8::1")).toThrow("put an IPv6 address in brackets");
  });
});

describe("clientConfigFromArgs", () => {
  test("every config key has its --kebab-case flag (the table comes from the schema)", () => {
    const values: Record<string, string> = {
      id: "laptop", tun: "wt9", routes: "none", dns: "apply", resolvConf: "/tmp/r.conf",
      stateDir: "/tmp/st", logLevel: "debug", logFormat: "json", controlSocket: "/tmp/st/c.sock",
    };
    const argv = ["-s", "vpn:9000", "--secret", "s3", "--retry", "3"];
    for (const [key, value] of Object.entries(values)) argv.push(`--${kebab(key)}`, value);
    const cfg = clientConfigFromArgs(argv, {});
    if (cfg === "help") throw new Error("help");
    expect(Object.keys(ClientConfigSchema.entries).sort()).toEqual([...Object.keys(values), "server", "secret", "retry"].sort());
    expect(cfg).toMatchObject({ ...values, server: { host: "vpn", port: 9000 }, secret: "s3", retry: 3 });
  });

  test("defaults", () => {
    const c = clientConfigFromArgs(["--server", "vpn:8000", "--secret", "s"], {});
    expect(c).toEqual({
      server: { host: "vpn", port: 8000 }, secret: "s", tun: "warren1", routes: "pushed", dns: "show",
      resolvConf: "/etc/resolv.conf", stateDir: "/run/warren", retry: 0, logLevel: "info", logFormat: "auto",
    });
  });

  test("secret from WARREN_SECRET; the flag wins", () => {
    expect(clientConfigFromArgs(["-s", "vpn"], { WARREN_SECRET: "env" })).toMatchObject({ secret: "env" });
    expect(clientConfigFromArgs(["-s", "vpn", "--secret", "flag"], { WARREN_SECRET: "env" })).toMatchObject({ secret: "flag" });
  });

  test("config file, overridden by flags", () => {
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ server: "vpn.example.org:8001", secret: "f", id: "laptop-1", routes: "none", tun: "wc9" }));
    expect(clientConfigFromArgs(["--config", file, "--tun", "wc1"], {})).toMatchObject({
      server: { host: "vpn.example.org", port: 8001 }, secret: "f", id: "laptop-1", routes: "none", tun: "wc1",
    });
  });

  test("missing or bad fields: ConfigError naming the field, one line", () => {
    const err = (argv: string[], env: Record<string, string> = {}) => {
      try {
        clientConfigFromArgs(argv, env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).not.toContain("\n");
        return e as ConfigError;
      }
      throw new Error("no error");
    };
    expect(err(["--secret", "s"]).field).toBe("server");
    expect(err(["--server", "vpn"]).field).toBe("secret");
    expect(err(["--server", "vpn", "--secret", "s", "--routes", "all"]).message).toContain("routes: expected pushed or none");
    expect(err(["--server", "vpn", "--secret", "s", "--dns", "write"]).message).toContain("dns: expected show or apply");
    expect(err(["--server", "vpn", "--secret", "s", "--resolv-conf", "etc/resolv.conf"]).field).toBe("resolvConf");
    expect(err(["--server", "vpn", "--secret", "s", "--id", "has space"]).field).toBe("id");
    expect(err(["--server", "vpn", "--secret", "s", "--tun", "much-too-long-name"]).field).toBe("tun");
    expect(err(["--server", "vpn", "--secret", "s", "--state-dir", "rel/dir"]).field).toBe("stateDir");
    expect(err(["--server", "vpn", "--secret", "s", "--bogus"]).message).toBe("--bogus: unknown option (see warren client --help)");
    expect(err(["--secret", "s"]).message).toBe("--server: required, e.g. --server vpn.example.org:8000");
    expect(err(["-s", "vpn"]).message).toBe("--secret: required: give --secret S or set WARREN_SECRET");
    expect(err(["-s", "vpn", "--secret", "s", "--routes", "all"]).message).toBe('--routes: expected pushed or none (got "all")');
  });

  test("--dns apply with another resolv.conf, from flags or the file", () => {
    expect(clientConfigFromArgs(["-s", "vpn", "--secret", "s", "--dns", "apply", "--resolv-conf", "/tmp/r.conf"], {})).toMatchObject({
      dns: "apply", resolvConf: "/tmp/r.conf",
    });
    const file = join(dir, "dns.json");
    writeFileSync(file, JSON.stringify({ server: "vpn", secret: "f", dns: "apply" }));
    expect(clientConfigFromArgs(["--config", file], {})).toMatchObject({ dns: "apply", resolvConf: "/etc/resolv.conf" });
  });

  test("--help", () => {
    expect(clientConfigFromArgs(["--help"], {})).toBe("help");
  });

  test("--retry: forever, a count, or 0 (the default); the file may say either", () => {
    const retry = (...a: string[]) => (clientConfigFromArgs(["-s", "vpn", "--secret", "s", ...a], {}) as { retry: number }).retry;
    expect([retry(), retry("--retry", "forever"), retry("--retry", "5"), retry("--retry", "0")]).toEqual([0, Infinity, 5, 0]);
    const file = join(dir, "retry.json");
    writeFileSync(file, JSON.stringify({ server: "vpn", secret: "f", retry: "forever" }));
    expect(clientConfigFromArgs(["--config", file], {})).toMatchObject({ retry: Infinity });
    writeFileSync(file, JSON.stringify({ server: "vpn", secret: "f", retry: 2 }));
    expect(clientConfigFromArgs(["--config", file], {})).toMatchObject({ retry: 2 });
    for (const bad of ["always", "-1", "1.5"]) {
      expect(() => clientConfigFromArgs(["-s", "vpn", "--secret", "s", `--retry=${bad}`], {})).toThrow(
        `--retry: expected forever or a number of retries from 0 to 1000000 (got "${bad}")`,
      );
    }
  });

  test("--control-socket: a path, or none for no status socket", () => {
    expect(clientConfigFromArgs(["-s", "vpn", "--secret", "s"], {})).not.toHaveProperty("controlSocket");
    expect(clientConfigFromArgs(["-s", "vpn", "--secret", "s", "--control-socket", "none"], {})).toMatchObject({ controlSocket: null });
    expect(() => clientConfigFromArgs(["-s", "vpn", "--secret", "s", "--control-socket", `/${"x".repeat(120)}`], {})).toThrow(/--control-socket: expected a socket path of at most 107 bytes/);
  });
});

describe("output", () => {
  test("the connected line", () => {
    const r = parseParams("m,1400 a,10.8.0.5,32 a,fd00:8::5,128 r,0.0.0.0,0");
    if (!r.ok) throw new Error(r.error);
    expect(connectedLine(r.params, formatEndpoint("vpn.example.org", 8000))).toBe("connected: 10.8.0.5/32 via vpn.example.org:8000 (mtu 1400)");
    expect(formatEndpoint("2001:db8::1", 8000)).toBe("[2001:db8::1]:8000");
  });

  test("the connected line as JSON (--log-format json): the same facts as fields, shaped like a log record", () => {
    const r = parseParams("m,1380 a,10.8.0.5,32 a,fd00:8::5,128 r,0.0.0.0,0");
    if (!r.ok) throw new Error(r.error);
    const line = connectedLine(r.params, "[2001:db8::1]:8000", true, new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
    expect(line).not.toContain("\n");
    expect(JSON.parse(line)).toEqual({
      t: "2026-01-02T03:04:05.000Z", level: "info", tag: "warren:client", msg: "connected: 10.8.0.5/32 via [2001:db8::1]:8000 (mtu 1380)",
      event: "connected", server: "[2001:db8::1]:8000", address: "10.8.0.5/32", addresses: ["10.8.0.5/32", "fd00:8::5/128"], mtu: 1380,
    });
  });
});

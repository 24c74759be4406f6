/**
 * `--nat` / `--nat-out` / `--nat-allow` and the config file's `nat` object: defaults, flags
 * over the file, `--nat-out` and `--nat-allow` implying `--nat`, and errors naming the field.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverConfigFromArgs } from "../../../src/cli/server.ts";
import { mergeDotted } from "../../../src/config/load.ts";
import type { ServerConfig } from "../../../src/config/server-schema.ts";
import { formatCidr } from "../../../src/protocol/ip.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-natcfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (argv: string[]) => serverConfigFromArgs(argv, {}) as ServerConfig;
const file = (obj: unknown) => {
  const p = join(dir, `c${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(obj));
  return p;
};

describe("nat settings", () => {
  test("off by default", () => {
    expect(cfg([]).nat).toEqual({ enabled: false, allow: [] });
  });

  test("--nat, and --nat-out naming the interface (which implies --nat)", () => {
    expect(cfg(["--nat"]).nat).toEqual({ enabled: true, allow: [] });
    expect(cfg(["--nat-out", "eth1"]).nat).toEqual({ enabled: true, outInterface: "eth1", allow: [] });
  });

  test("the file's nat object, with flags laid over single fields", () => {
    const p = file({ nat: { enabled: false, outInterface: "ens3" } });
    expect(cfg(["-c", p]).nat).toEqual({ enabled: false, outInterface: "ens3", allow: [] });
    expect(cfg(["-c", p, "--nat"]).nat).toEqual({ enabled: true, outInterface: "ens3", allow: [] });
    expect(cfg(["-c", file({ nat: { enabled: "yes" } })]).nat).toEqual({ enabled: true, allow: [] });
  });

  test("--nat-allow CIDR, repeatable, both families, host bits cleared; implies --nat; the file's nat.allow", () => {
    const c = cfg(["--nat-allow", "10.20.1.7/16", "--nat-allow", "fd00:99::/64"]).nat;
    expect(c.enabled).toBe(true);
    expect(c.allow.map(formatCidr)).toEqual(["10.20.0.0/16", "fd00:99::/64"]);
    expect(cfg(["-c", file({ nat: { enabled: true, allow: ["172.17.0.0/16"] } })]).nat.allow.map(formatCidr)).toEqual(["172.17.0.0/16"]);
    expect(() => cfg(["--nat-allow", "10.20.0.0"])).toThrow('--nat-allow: expected a CIDR prefix like 10.20.0.0/16 (got "10.20.0.0")');
  });

  test("bad values name the field", () => {
    expect(() => cfg(["--nat-out", "no spaces allowed"])).toThrow(/^--nat-out: expected an interface name/);
    const p = file({ nat: { enabled: true, out: "x" } });
    expect(() => cfg(["-c", p])).toThrow(`config: ${p}: nat.out: unknown setting`);
  });

  test("mergeDotted sets one field of a nested object and keeps the rest", () => {
    expect(mergeDotted({ nat: { outInterface: "a" }, mtu: 1 }, { "nat.enabled": true, mtu: 2, x: undefined })).toEqual({
      nat: { outInterface: "a", enabled: true },
      mtu: 2,
    });
  });
});

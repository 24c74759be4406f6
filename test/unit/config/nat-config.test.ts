/**
 * `--nat` / `--nat-out` and the config file's `nat` object: defaults, flags over the file,
 * `--nat-out` implying `--nat`, and errors naming the field.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverConfigFromArgs } from "../../../src/cli/server.ts";
import { mergeDotted } from "../../../src/config/load.ts";
import type { ServerConfig } from "../../../src/config/server-schema.ts";

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
    expect(cfg([]).nat).toEqual({ enabled: false });
  });

  test("--nat, and --nat-out naming the interface (which implies --nat)", () => {
    expect(cfg(["--nat"]).nat).toEqual({ enabled: true });
    expect(cfg(["--nat-out", "eth1"]).nat).toEqual({ enabled: true, outInterface: "eth1" });
  });

  test("the file's nat object, with flags laid over single fields", () => {
    const p = file({ nat: { enabled: false, outInterface: "ens3" } });
    expect(cfg(["-c", p]).nat).toEqual({ enabled: false, outInterface: "ens3" });
    expect(cfg(["-c", p, "--nat"]).nat).toEqual({ enabled: true, outInterface: "ens3" });
    expect(cfg(["-c", file({ nat: { enabled: "yes" } })]).nat).toEqual({ enabled: true });
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

/**
 * @module help.test
 * Every command answers `--help` (and `-h`) with exit status 0 and a text that has a
 * usage line, an options section and at least two examples; `warren help CMD` prints
 * the very same text. `warren get --help` lists the settings it can show.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { SETTING_KEYS } from "../../../src/admin/control-protocol.ts";
import { runMain } from "../../../src/main.ts";

const COMMANDS = ["status", "clients", "kick", "get", "set", "reload", "capture", "server", "client", "user", "token", "watchdog"];

const spies: Array<{ mockRestore(): void }> = [];
afterEach(() => {
  for (const s of spies.splice(0)) s.mockRestore();
});

/** Runs warren in process; returns the exit status and everything printed to stdout. */
async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  spies.push(spyOn(console, "log").mockImplementation((...a: unknown[]) => void (out += `${a.join(" ")}\n`)));
  spies.push(spyOn(process.stdout, "write").mockImplementation((t: string | Uint8Array) => ((out += String(t)), true)));
  const code = await runMain(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  for (const s of spies.splice(0)) s.mockRestore();
  return { code, out, err };
}

/** The lines of the `examples:` section (up to the next blank line). */
function examples(text: string): string[] {
  const lines = text.split("\n");
  const at = lines.indexOf("examples:");
  if (at < 0) return [];
  const end = lines.findIndex((l, i) => i > at && l.trim() === "");
  return lines.slice(at + 1, end < 0 ? undefined : end);
}

describe("help", () => {
  for (const cmd of COMMANDS) {
    test(`warren ${cmd} --help`, async () => {
      const r = await capture([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.err).toBe("");
      expect(r.out).toStartWith(`usage: warren ${cmd === "capture" ? "capture start" : cmd}`);
      expect(r.out).toMatch(/^options[ (:]/m);
      expect(r.out).toMatch(/^ {2}-h, --help/m);
      const ex = examples(r.out);
      expect(ex.length).toBeGreaterThanOrEqual(2);
      expect(ex.filter((l) => /^ {2}(\S+=\S+ )?warren /.test(l)).length).toBeGreaterThanOrEqual(2);
      expect(await capture([cmd, "-h"])).toEqual(r);
      expect(await capture(["help", cmd])).toEqual(r);
    });
  }

  test("warren client status --help: its own usage, options and examples; client --help points to it", async () => {
    const r = await capture(["client", "status", "--help"]);
    expect(r.code).toBe(0);
    expect(r.out).toStartWith("usage: warren client status");
    expect(r.out).toMatch(/^ {2}-h, --help/m);
    expect(examples(r.out).filter((l) => l.startsWith("  warren client status")).length).toBeGreaterThanOrEqual(2);
    const client = (await capture(["client", "--help"])).out;
    expect(client).toContain("warren client status [--tun NAME | -c FILE | --control-socket PATH] [--json]");
    expect(client).toMatch(/^ {6}--retry N\|forever /m);
    expect(examples(client)).toContain("  warren client status");
  });

  test("warren get --help lists the settings; set --help also the secret", async () => {
    const get = (await capture(["get", "--help"])).out;
    const set = (await capture(["set", "--help"])).out;
    for (const key of SETTING_KEYS) {
      if (key !== "secret") expect(get).toMatch(new RegExp(`^ {2}${key} `, "m"));
      expect(set).toMatch(new RegExp(`^ {2}${key} `, "m"));
    }
  });

  test("warren help admin: the admin commands together", async () => {
    const r = await capture(["help", "admin"]);
    expect(r.code).toBe(0);
    for (const cmd of COMMANDS.slice(0, 7)) expect(r.out).toContain(`  ${cmd} `);
  });
});

/**
 * @module secure-file.test
 * Files holding secrets, pids and state (src/lib/secure-file.ts and its users: the pid
 * file, state files, the users file writer, `warren token keygen`): mode 0600 from the
 * first byte even under umask 0, and a symbolic link at the path or at the temp file's
 * name is refused or removed, never followed.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { writeUsersFile } from "../../../src/auth/users-file.ts";
import { runToken } from "../../../src/cli/token.ts";
import { claimFile } from "../../../src/lib/pidfile.ts";
import { openNew } from "../../../src/lib/secure-file.ts";
import { loadStateFile, saveStateFile, writeFileAtomic } from "../../../src/lib/state-file.ts";
import { FileStateStore } from "../../../src/platform/linux/client-state.ts";
import { FileDnsBackup } from "../../../src/platform/linux/resolvconf.ts";

const DIR = mkdtempSync(join(tmpdir(), "warren-secure-"));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));
let n = 0;
const fresh = (ext = "") => join(DIR, `f${++n}${ext}`);
const mode = (p: string) => lstatSync(p).mode & 0o777;

/** A file someone wants overwritten, and a symbolic link to it at `at`. */
function bait(at: string): string {
  const victim = fresh(".victim");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, at);
  return victim;
}

let umask0 = 0;
beforeEach(() => {
  umask0 = process.umask(0); // the mode passed to open(2) is all that stands between the secret and others
});
afterEach(() => {
  process.umask(umask0);
});

describe("lib/secure-file", () => {
  test("writeFileAtomic: mode 0600 under umask 0, no temp file left, replaces a regular file", () => {
    const p = fresh(".json");
    writeFileAtomic(p, "one\n", { file: 0o600 });
    expect(mode(p)).toBe(0o600);
    writeFileSync(p, "old\n", { mode: 0o644 });
    writeFileAtomic(p, "two\n", { file: 0o600 });
    expect([readFileSync(p, "utf8"), mode(p)]).toEqual(["two\n", 0o600]);
    expect(readdirSync(DIR).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  test("writeFileAtomic and openNew refuse a symbolic link; its target is untouched", () => {
    const p = fresh(".json");
    const victim = bait(p);
    expect(() => writeFileAtomic(p, "evil\n", { file: 0o600 })).toThrow(`refusing ${p}: it is a symbolic link`);
    expect(() => openNew(p)).toThrow(/EEXIST/);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(p).isSymbolicLink()).toBe(true);
  });
});

describe("the files that use it", () => {
  test("pid file: 0600 under umask 0; a symbolic link at its name is refused and kept", () => {
    const p = fresh(".pid");
    expect(claimFile(p, () => true)).toEqual({ ok: true });
    expect(mode(p)).toBe(0o600);
    const q = fresh(".pid");
    const victim = bait(q);
    expect(() => claimFile(q, () => false)).toThrow(`refusing ${q}: it is a symbolic link`);
    expect(lstatSync(q).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });

  test("pid file: a link planted at its temp name is not written through", () => {
    const p = fresh(".pid");
    const victim = bait(`${p}.${process.pid}.tmp`);
    expect(claimFile(p, () => true)).toEqual({ ok: true });
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect([readFileSync(p, "utf8"), mode(p)]).toEqual([`${process.pid}\n`, 0o600]);
  });

  test("state file: mode from the first byte; a link at the temp name is removed, one at the file refused", () => {
    const S = v.object({ a: v.number() });
    const p = fresh(".state");
    const victim = bait(`${p}.tmp`);
    saveStateFile(p, { a: 1 }, { dir: 0o700, file: 0o600 });
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    // the temp file has a name of its own: the planted link is neither followed nor needed
    expect([loadStateFile(p, S), mode(p), lstatSync(`${p}.tmp`).isSymbolicLink()]).toEqual([{ a: 1 }, 0o600, true]);
    const q = fresh(".state");
    const v2 = bait(q);
    expect(() => saveStateFile(q, { a: 2 }, { dir: 0o700, file: 0o600 })).toThrow(/symbolic link/);
    expect(loadStateFile(q, S)).toBeNull(); // not read through the link either
    expect(readFileSync(v2, "utf8")).toBe("precious\n");
  });

  test("the client's state files (they name its pid) are 0600 under umask 0", () => {
    const dir = fresh(".run");
    const routes = new FileStateStore(dir, "wc0");
    routes.save({ pid: process.pid, tun: "wc0", server: "192.0.2.1", routes: [] });
    const dns = new FileDnsBackup(dir, "wc0");
    dns.save({ pid: process.pid, tun: "wc0", path: "/etc/resolv.conf", original: new Uint8Array([35]) });
    expect([mode(routes.path), mode(dns.path)]).toEqual([0o600, 0o600]);
  });

  test("users file writer: 0600; a symbolic link at the path is refused", () => {
    const p = fresh(".users");
    writeUsersFile(p, { users: {} });
    expect(mode(p)).toBe(0o600);
    const q = fresh(".users");
    const victim = bait(q);
    expect(() => writeUsersFile(q, { users: {} })).toThrow(/symbolic link/);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });

  test("warren token keygen: key file 0600 under umask 0; a dangling link at the path is refused", async () => {
    const log = console.log;
    console.log = () => {};
    try {
      const k = fresh(".key");
      expect(await runToken(["keygen", "--key-file", k])).toBe(0);
      expect(mode(k)).toBe(0o600);
      const dangling = fresh(".key");
      const target = fresh(".planted");
      symlinkSync(target, dangling);
      await expect(runToken(["keygen", "--key-file", dangling])).rejects.toThrow(/symbolic link/);
      expect(existsSync(target)).toBe(false);
    } finally {
      console.log = log;
    }
  });
});

/**
 * @module resolvconf.test
 * The files of `--dns apply`, in a temp dir: resolv.conf is rewritten in place (same
 * inode; a symlink stays a symlink and its target is written), never created; errors are
 * one line; the backup keeps arbitrary bytes and a corrupt one is discarded.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dnsBackupPath, FileDnsBackup, readResolvConf, writeResolvConf } from "../../../src/platform/linux/resolvconf.ts";

let dir: string;
const enc = (s: string) => new TextEncoder().encode(s);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "warren-resolvconf-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("resolv.conf", () => {
  test("rewritten in place: same inode, shorter content truncates", () => {
    const f = join(dir, "resolv.conf");
    writeFileSync(f, "nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch long.example\n");
    const ino = statSync(f).ino;
    writeResolvConf(f, enc("nameserver 192.0.2.53\n"));
    expect(readFileSync(f, "utf8")).toBe("nameserver 192.0.2.53\n");
    expect(statSync(f).ino).toBe(ino);
    expect(readResolvConf(f)).toEqual(enc("nameserver 192.0.2.53\n"));
  });

  test("a symlink stays a symlink; its target gets the text", () => {
    const target = join(dir, "stub-resolv.conf");
    const link = join(dir, "resolv.conf");
    writeFileSync(target, "nameserver 127.0.0.53\n");
    symlinkSync(target, link);
    writeResolvConf(link, enc("nameserver 192.0.2.53\n"));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, "utf8")).toBe("nameserver 192.0.2.53\n");
  });

  test("a missing file is an error and is not created; errors are one line", () => {
    const f = join(dir, "missing.conf");
    expect(() => writeResolvConf(f, enc("x"))).toThrow(`cannot write ${f}: ENOENT`);
    expect(() => readResolvConf(f)).toThrow(`cannot read ${f}: ENOENT`);
    expect(() => statSync(f)).toThrow();
  });

  test("a directory in its place: EISDIR, one line", () => {
    expect(() => writeResolvConf(dir, enc("x"))).toThrow(`cannot write ${dir}: EISDIR`);
  });
});

describe("FileDnsBackup", () => {
  test("round trip of arbitrary bytes; remove; a corrupt file is discarded", () => {
    const store = new FileDnsBackup(join(dir, "state"), "wc1", "4026531840");
    expect(store.path).toBe(dnsBackupPath(join(dir, "state"), "wc1", "4026531840"));
    expect(store.path).toBe(join(dir, "state", "client-wc1-4026531840.dns.json"));
    expect(store.load()).toBeNull();
    const original = new Uint8Array([0x23, 0x0a, 0xff, 0x00, 0xfe]);
    store.save({ pid: 42, tun: "wc1", path: "/etc/resolv.conf", original });
    expect(store.load()).toEqual({ pid: 42, tun: "wc1", path: "/etc/resolv.conf", original });
    store.remove();
    store.remove();
    expect(store.load()).toBeNull();
    writeFileSync(store.path, "{not json");
    expect(store.load()).toBeNull();
    expect(() => statSync(store.path)).toThrow();
  });

  test("an unwritable state dir: one line naming the file", () => {
    const blocker = join(dir, "file");
    writeFileSync(blocker, "");
    const store = new FileDnsBackup(join(blocker, "sub"), "wc1", "77");
    expect(() => store.save({ pid: 1, tun: "wc1", path: "/etc/resolv.conf", original: new Uint8Array() })).toThrow(
      `cannot write the DNS backup ${join(blocker, "sub", "client-wc1-77.dns.json")}: ENOTDIR`,
    );
  });
});

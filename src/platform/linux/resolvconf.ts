/**
 * @module platform/linux/resolvconf
 * The file side of `--dns apply`: reading and rewriting resolv.conf, and the backup of
 * its original content (`/run/warren/client-<tun>-<netns>.dns.json` by default, beside
 * the client's state file; client-state.ts names them).
 *
 * resolv.conf is rewritten in place (open with O_TRUNC, write, fsync), never replaced by
 * a rename: it is often a bind mount (containers) or a symlink whose target belongs to
 * another program, and a rename would break both. It is never created either: a missing
 * file is an error. The backup, warren's own file, is replaced atomically by a rename.
 */

import { closeSync, constants, fsyncSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import * as v from "valibot";
import { errorCode, WarrenError } from "../../lib/errors.ts";
import { loadStateFile, saveStateFile } from "../../lib/state-file.ts";
import { clientFileStem, isWarrenClient, netnsId } from "./client-state.ts";

/** The bytes of `path`; throws `cannot read PATH: CODE`. */
export function readResolvConf(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new WarrenError("ERR_RESOLV_CONF", `cannot read ${path}: ${errorCode(e) ?? "error"}`);
  }
}

/** Replaces the content of the existing file `path` in place; throws `cannot write PATH: CODE`. */
export function writeResolvConf(path: string, data: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (e) {
    throw new WarrenError("ERR_RESOLV_CONF", `cannot write ${path}: ${errorCode(e) ?? "error"}`);
  }
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } catch (e) {
    throw new WarrenError("ERR_RESOLV_CONF", `cannot write ${path}: ${errorCode(e) ?? "error"}`);
  } finally {
    closeSync(fd);
  }
}

/** Path of the DNS backup for TUN `tun` in `dir` and network namespace `netns`. */
export function dnsBackupPath(dir: string, tun: string, netns: string): string {
  return `${clientFileStem(dir, tun, netns)}.dns.json`;
}

const BackupSchema = v.object({ pid: v.number(), tun: v.string(), path: v.string(), original: v.string() });

/** The engine's DnsBackupStore on one JSON file (the original content base64-encoded). */
export class FileDnsBackup {
  readonly path: string;

  /** The backup of TUN `tun` in `dir` for network namespace `netns` (this process's by default). */
  constructor(dir: string, tun: string, netns = netnsId()) {
    this.path = dnsBackupPath(dir, tun, netns);
  }

  load(): { pid: number; tun: string; path: string; original: Uint8Array } | null {
    const r = loadStateFile(this.path, BackupSchema);
    return r === null ? null : { ...r, original: new Uint8Array(Buffer.from(r.original, "base64")) };
  }

  save(b: { pid: number; tun: string; path: string; original: Uint8Array }): void {
    try {
      const record = { pid: b.pid, tun: b.tun, path: b.path, original: Buffer.from(b.original).toString("base64") };
      saveStateFile(this.path, record, { dir: 0o755, file: 0o600 });
    } catch (e) {
      throw new WarrenError("ERR_STATE_FILE", `cannot write the DNS backup ${this.path}: ${errorCode(e) ?? "error"} (set --state-dir)`);
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  isAlive(pid: number): boolean {
    return isWarrenClient(pid);
  }
}

/**
 * @module config/wg-peers-file
 * Reading and changing the WireGuard peers file (syntax: wg-peers.ts) without
 * disturbing what the operator wrote: a new peer is appended after the existing text,
 * byte for byte; a removed peer takes only its own section with it.
 *
 * Every change is one atomic replace under a lock: the temp file `.<name>.tmp` beside
 * the file is created with O_EXCL and mode 0600 *before* the file is read, so two
 * `warren wg add` at once cannot lose a peer (the second is told to retry); then the new
 * text is written, fsynced and renamed over the file, and the folder is fsynced. A crash
 * leaves the old file whole; a temp file older than STALE_LOCK_MS is taken as left over.
 */

import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { keyToBase64 } from "../crypto/x25519.ts";
import { codeOrMessage, ConfigError, errorCode, WarrenError } from "../lib/errors.ts";
import { syncDir } from "../lib/state-file.ts";
import { formatCidr } from "../protocol/ip.ts";
import { parsePeers, type PeersParse, scanSections, type Section, type WgPeer } from "./wg-peers.ts";

/** A lock (temp) file older than this is a crashed writer's, and is removed. */
export const STALE_LOCK_MS = 30_000;

/** The fields a new section needs (a WgPeer without its line). */
export type NewPeer = Omit<WgPeer, "line">;

/** The line ending the text already uses (CRLF if any line has one). */
export function eolOf(text: string): "\n" | "\r\n" {
  return text.includes("\r\n") ? "\r\n" : "\n";
}

/** One `[Peer]` section, name first, in the order `wg showconf` prints keys. */
export function renderPeerSection(p: NewPeer, eol = "\n"): string {
  const lines = ["[Peer]"];
  if (p.name !== null) lines.push(`# Name = ${p.name}`);
  lines.push(`PublicKey = ${keyToBase64(p.publicKey)}`);
  if (p.presharedKey) lines.push(`PresharedKey = ${keyToBase64(p.presharedKey)}`);
  lines.push(`AllowedIPs = ${p.allowedIps.map(formatCidr).join(", ")}`);
  if (p.persistentKeepalive !== null) lines.push(`PersistentKeepalive = ${p.persistentKeepalive}`);
  return lines.map((l) => l + eol).join("");
}

/** `text` unchanged plus, after one blank line, `section`. */
export function appendSection(text: string, section: string): string {
  if (text === "") return section;
  const eol = eolOf(text);
  let out = text.endsWith("\n") ? text : text + eol;
  if (!/(^|\n)[ \t\r]*\n$/.test(out)) out += eol;
  return out + section;
}

/** Does `s` belong to the peer named `who` (its name, or its public key in base64)? */
function matches(s: Section, who: string): boolean {
  if (s.kind !== "peer") return false;
  if (s.name?.value === who) return true;
  return s.entries.some((e) => e.key.toLowerCase() === "publickey" && e.value === who);
}

/**
 * `text` without the `[Peer]` section of `who` (name or public key); every other byte
 * stays. The last section also takes the blank lines before it, so that appending a
 * peer and removing it again gives back a file that ended in one newline exactly.
 * Returns null when no section matches.
 */
export function removeSection(text: string, who: string, file: string): { text: string; line: number } | null {
  const s = scanSections(text, file, []).find((x) => matches(x, who));
  if (!s) return null;
  let start = s.start;
  if (s.end >= text.length) {
    while (start > 0) {
      const prev = text.lastIndexOf("\n", start - 2) + 1;
      if (text.slice(prev, start).trim() !== "") break;
      start = prev;
    }
  }
  return { text: text.slice(0, start) + text.slice(s.end), line: s.line };
}

/** Errors of a parse as one ConfigError (the first three, then a count). */
export function peersError(parse: PeersParse): ConfigError {
  const shown = parse.errors.slice(0, 3).join("; ");
  const more = parse.errors.length > 3 ? `; and ${parse.errors.length - 3} more` : "";
  return new ConfigError("", shown + more);
}

/** Text and parse of a peers file; `missingOk` makes a missing file an empty one. Throws ConfigError on any error. */
export function readPeersFile(path: string, missingOk: boolean): { text: string; parse: PeersParse } {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = errorCode(e) ?? "error";
    if (!(code === "ENOENT" && missingOk)) throw new ConfigError("", `cannot read peers file ${path}: ${code}`);
  }
  const parse = parsePeers(text, path);
  if (parse.errors.length > 0) throw peersError(parse);
  return { text, parse };
}

/** Follows a symlink so the rename replaces the file, not the link. */
function realTarget(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function takeLock(tmp: string, file: string, nowMs: number): number {
  for (let attempt = 0; ; attempt++) {
    try {
      return openSync(tmp, "wx", 0o600);
    } catch (e) {
      const code = errorCode(e);
      if (code !== "EEXIST") throw e;
      let age = 0;
      try {
        age = nowMs - statSync(tmp).mtimeMs;
      } catch {
        age = Infinity; // gone meanwhile: try again
      }
      if (attempt > 0 || age < STALE_LOCK_MS) {
        throw new WarrenError("ERR_BUSY", `${file} is being changed by another warren command (${tmp} exists); try again, or remove ${tmp} if no such command runs`);
      }
      rmSync(tmp, { force: true });
    }
  }
}

/**
 * Replaces the file with `edit(old)` atomically, under the lock described above.
 * `old` is "" for a missing file. `edit` may throw (nothing is written). Returns the new text.
 */
export function editPeersFile(path: string, edit: (old: string) => string, nowMs = Date.now()): string {
  const target = realTarget(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.tmp`);
  let fd: number;
  try {
    fd = takeLock(tmp, path, nowMs);
  } catch (e) {
    if (e instanceof WarrenError) throw e;
    throw new WarrenError("ERR_WRITE", `cannot write ${path}: ${codeOrMessage(e)}`);
  }
  try {
    let old = "";
    try {
      old = readFileSync(target, "utf8");
    } catch (e) {
      if (errorCode(e) !== "ENOENT") throw e;
    }
    const text = edit(old);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, target);
    syncDir(dir);
    return text;
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof WarrenError) throw e;
    throw new WarrenError("ERR_WRITE", `cannot write ${path}: ${codeOrMessage(e)}`);
  }
}

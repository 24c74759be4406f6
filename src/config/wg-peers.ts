/**
 * @module config/wg-peers
 * The WireGuard peers file: `[Peer]` sections in wg-quick's own syntax, so the peers
 * of an existing wg-quick server config work unchanged. A peer's name is a comment line
 * inside its section, `# Name = phone-1`.
 *
 * The reader is tolerant where wg-quick is (comments with `#` or `;`, blank lines,
 * case-insensitive keys and section names, several AllowedIPs lines and comma lists,
 * bare addresses as host routes, `[Interface]` sections, which it skips with a note)
 * and strict where a mistake would route traffic to the wrong peer: unknown keys,
 * duplicate keys or names, and overlapping AllowedIPs are errors naming `file:line`.
 *
 * Pure: text in, peers (or errors) out, and the difference between two loads for a live
 * re-read (`diffPeers`). Reading and writing the file is wg-peers-file.ts.
 */

import * as v from "valibot";
import { got } from "./fields.ts";
import { keyToBase64 } from "../crypto/x25519.ts";
import { type Cidr, formatCidr } from "../protocol/ip.ts";
import { AllowedIpSchema, KeepaliveSchema, PeerNameSchema, WgKeySchema } from "./wg-schema.ts";

/** One peer of the peers file. */
export interface WgPeer {
  /** From the `# Name = ...` comment; null when the section has none. */
  name: string | null;
  publicKey: Uint8Array;
  presharedKey: Uint8Array | null;
  /** The peer's tunnel addresses (host routes /32 and /128 expected; wider ones give a note). */
  allowedIps: Cidr[];
  /** Seconds; null = off. */
  persistentKeepalive: number | null;
  /** 1-based line of the `[Peer]` header. */
  line: number;
}

/** What a peers file holds: peers in file order, plus notes for the operator (not errors). */
export interface PeersParse {
  peers: WgPeer[];
  notes: string[];
  /** One line each: `file:line: what is wrong`. Empty when the file is good. */
  errors: string[];
}

/** One `Key = Value` line. `key` is as written; compare lower-cased. */
export interface SectionEntry {
  key: string;
  value: string;
  line: number;
}

/** A section with where it lies in the text (byte-exact, for removal). */
export interface Section {
  kind: "interface" | "peer";
  /** 1-based line of the header. */
  line: number;
  /** Offset of the header line's first character. */
  start: number;
  /** Offset just past its last entry or name comment and the blank lines after it. */
  end: number;
  entries: SectionEntry[];
  /** The `# Name = ...` comment, if any (peer sections only). */
  name: { value: string; line: number } | null;
}

const HEADER_RE = /^\s*\[\s*([A-Za-z]+)\s*\]\s*$/;
const NAME_RE = /^\s*[#;]\s*name\s*=\s*(.*?)\s*$/i;
const COMMENT_RE = /^\s*[#;]/;

/** The keys wg accepts in `[Peer]`, by lower-cased name. */
const PEER_KEYS = ["PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive"] as const;

/** Splits text into sections and entries; syntax errors go to `errors`. Keeps exact offsets. */
export function scanSections(text: string, file: string, errors: string[]): Section[] {
  const sections: Section[] = [];
  let cur: Section | null = null;
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    const nl = text.indexOf("\n", offset);
    const next = nl < 0 ? text.length : nl + 1;
    const raw = text.slice(offset, nl < 0 ? text.length : nl).replace(/\r$/, "");
    lineNo++;
    const header = HEADER_RE.exec(raw);
    const nameMatch = NAME_RE.exec(raw);
    if (header) {
      const kind = (header[1] as string).toLowerCase();
      if (kind !== "peer" && kind !== "interface") errors.push(`${file}:${lineNo}: unknown section [${header[1]}]: expected [Peer] or [Interface]`);
      cur = { kind: kind === "peer" ? "peer" : "interface", line: lineNo, start: offset, end: next, entries: [], name: null };
      sections.push(cur);
    } else if (cur && nameMatch && cur.kind === "peer") {
      if (cur.name) errors.push(`${file}:${lineNo}: a second "# Name =" in the [Peer] of line ${cur.line}`);
      cur.name = { value: nameMatch[1] as string, line: lineNo };
      cur.end = next;
    } else if (raw.trim() === "" || COMMENT_RE.test(raw)) {
      if (cur && raw.trim() === "" && cur.end === offset) cur.end = next;
    } else {
      const eq = raw.indexOf("=");
      if (eq < 0) errors.push(`${file}:${lineNo}: expected "Key = Value", a [Peer] header or a comment${got(raw.trim())}`);
      else if (!cur) errors.push(`${file}:${lineNo}: ${raw.slice(0, eq).trim()} outside a section: put it under [Peer]`);
      else {
        const value = raw.slice(eq + 1).replace(/#.*$/, "").trim();
        cur.entries.push({ key: raw.slice(0, eq).trim(), value, line: lineNo });
        cur.end = next;
      }
    }
    offset = next;
  }
  return sections;
}

/** The issue message of a failed parse, or the output. */
function field<S extends v.GenericSchema<string, unknown>>(schema: S, value: string, where: string, errors: string[]): v.InferOutput<S> | undefined {
  const r = v.safeParse(schema, value);
  if (r.success) return r.output;
  errors.push(`${where}: ${r.issues[0]?.message ?? "invalid value"}`);
  return undefined;
}

/** One `[Peer]` section -> a peer, or null when it is unusable (errors say why). */
function peerOf(s: Section, file: string, errors: string[], notes: string[]): WgPeer | null {
  const before = errors.length;
  const seen = new Map<string, number>();
  const peer: WgPeer = { name: null, publicKey: new Uint8Array(0), presharedKey: null, allowedIps: [], persistentKeepalive: null, line: s.line };
  if (s.name) peer.name = field(PeerNameSchema, s.name.value, `${file}:${s.name.line}: Name`, errors) ?? null;
  for (const e of s.entries) {
    const at = `${file}:${e.line}`;
    const known = PEER_KEYS.find((k) => k.toLowerCase() === e.key.toLowerCase());
    if (!known) {
      const hint = e.key.toLowerCase() === "name" ? ` (write the name as a comment: # Name = ${e.value})` : ` (expected ${PEER_KEYS.join(", ")})`;
      errors.push(`${at}: unknown key ${JSON.stringify(e.key)} in [Peer]${hint}`);
      continue;
    }
    if (known !== "AllowedIPs" && seen.has(known)) {
      errors.push(`${at}: ${known} given twice in the [Peer] of line ${s.line} (first on line ${seen.get(known)})`);
      continue;
    }
    seen.set(known, e.line);
    if (known === "PublicKey") peer.publicKey = field(WgKeySchema, e.value, `${at}: PublicKey`, errors) ?? peer.publicKey;
    else if (known === "PresharedKey") peer.presharedKey = field(WgKeySchema, e.value, `${at}: PresharedKey`, errors) ?? null;
    else if (known === "PersistentKeepalive") peer.persistentKeepalive = field(KeepaliveSchema, e.value, `${at}: PersistentKeepalive`, errors) ?? null;
    else if (known === "Endpoint") notes.push(`${at}: Endpoint ignored: warren learns each peer's endpoint from its handshakes`);
    else {
      for (const item of e.value.split(",")) {
        if (item.trim() === "") continue;
        const c = field(AllowedIpSchema, item.trim(), `${at}: AllowedIPs`, errors);
        if (c) peer.allowedIps.push(c);
      }
    }
  }
  if (!seen.has("PublicKey")) errors.push(`${file}:${s.line}: [Peer]${peer.name ? ` ${peer.name}` : ""} has no PublicKey`);
  else if (peer.allowedIps.length === 0 && errors.length === before) errors.push(`${file}:${s.line}: [Peer]${peer.name ? ` ${peer.name}` : ""} has no AllowedIPs: it needs its tunnel address`);
  for (const c of peer.allowedIps) {
    if (c.prefixLen < (c.family === 4 ? 32 : 128)) notes.push(`${file}:${s.line}: AllowedIPs ${formatCidr(c)} of ${peer.name ?? "a peer"} is wider than one address: warren routes all of it to that peer`);
  }
  return errors.length === before ? peer : null;
}

/** [first, last] address of a prefix as integers on one line (IPv4 below IPv6). */
function span(c: Cidr): [bigint, bigint] {
  const bits = c.family === 4 ? 32 : 128;
  let n = 0n;
  if (c.family === 4) n = BigInt(c.address);
  else for (const b of c.bytes) n = (n << 8n) | BigInt(b);
  if (c.family === 6) n += 1n << 32n;
  return [n, n + (1n << BigInt(bits - c.prefixLen)) - 1n];
}

/** Duplicate keys, duplicate names and overlapping AllowedIPs between peers. */
function crossCheck(peers: WgPeer[], file: string, errors: string[]): void {
  const byKey = new Map<string, WgPeer>();
  const byName = new Map<string, WgPeer>();
  for (const p of peers) {
    const k = keyToBase64(p.publicKey);
    const dupKey = byKey.get(k);
    if (dupKey) errors.push(`${file}:${p.line}: PublicKey ${k} is also the peer of line ${dupKey.line}`);
    else byKey.set(k, p);
    if (p.name === null) continue;
    const dupName = byName.get(p.name);
    if (dupName) errors.push(`${file}:${p.line}: name ${p.name} is also the peer of line ${dupName.line}`);
    else byName.set(p.name, p);
  }
  const spans = peers.flatMap((p) => p.allowedIps.map((c) => ({ p, c, s: span(c) })));
  spans.sort((a, b) => (a.s[0] < b.s[0] ? -1 : a.s[0] > b.s[0] ? 1 : 0));
  let widest: (typeof spans)[number] | null = null;
  const reported = new Set<string>();
  for (const x of spans) {
    if (widest && x.s[0] <= widest.s[1] && widest.p !== x.p) {
      const [first, second] = widest.p.line <= x.p.line ? [widest, x] : [x, widest];
      const pair = `${first.p.line}:${second.p.line}`;
      if (!reported.has(pair)) errors.push(`${file}:${second.p.line}: AllowedIPs ${formatCidr(second.c)} overlaps ${formatCidr(first.c)} of the peer of line ${first.p.line}`);
      reported.add(pair);
    }
    if (!widest || x.s[1] > widest.s[1]) widest = x;
  }
}

/** Parses a peers file's text. `file` names it in messages. Never throws. */
export function parsePeers(text: string, file: string): PeersParse {
  const errors: string[] = [];
  const notes: string[] = [];
  const peers: WgPeer[] = [];
  for (const s of scanSections(text, file, errors)) {
    if (s.kind === "interface") {
      notes.push(`${file}:${s.line}: [Interface] ignored: the server's key is wg.keyFile, its address comes from the pool`);
      continue;
    }
    const p = peerOf(s, file, errors, notes);
    if (p) peers.push(p);
  }
  crossCheck(peers, file, errors);
  return { peers, notes, errors };
}

/** What a re-read of the peers file changes, by public key (for wg-sync). */
export interface PeersDiff {
  added: WgPeer[];
  removed: WgPeer[];
  /** Same public key, other settings. `endSession`: the preshared key or addresses changed, so its session must end. */
  changed: { before: WgPeer; after: WgPeer; endSession: boolean }[];
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The difference between the loaded peers and a new parse of the file. */
export function diffPeers(before: WgPeer[], after: WgPeer[]): PeersDiff {
  const old = new Map(before.map((p) => [keyToBase64(p.publicKey), p]));
  const diff: PeersDiff = { added: [], removed: [], changed: [] };
  for (const p of after) {
    const k = keyToBase64(p.publicKey);
    const q = old.get(k);
    old.delete(k);
    if (!q) {
      diff.added.push(p);
      continue;
    }
    const ips = (x: WgPeer) => x.allowedIps.map(formatCidr).join(",");
    const endSession = !sameBytes(q.presharedKey, p.presharedKey) || ips(q) !== ips(p);
    if (endSession || q.name !== p.name || q.persistentKeepalive !== p.persistentKeepalive) diff.changed.push({ before: q, after: p, endSession });
  }
  diff.removed = [...old.values()];
  return diff;
}

/**
 * @module cli/wg-commands
 * `warren wg add|remove|show`: the peers-file side (keys, address, atomic edit) and the
 * live side (wg-sync / wg-show over the control socket, see wg-control.ts).
 *
 * add: 1. ask the server (wg-info) or use flags  2. under the file lock: parse the file,
 * pick the address, append the section, re-parse the result  3. wg-sync; if the server
 * refuses, take the section out again  4. print the client config (or its QR code).
 * The client's private key exists only in that output; the file keeps its public key.
 */

import * as v from "valibot";
import { appendSection, editPeersFile, peersError, readPeersFile, removeSection, renderPeerSection } from "../config/wg-peers-file.ts";
import { parsePeers } from "../config/wg-peers.ts";
import { AllowedIpSchema, PeerNameSchema } from "../config/wg-schema.ts";
import { generatePresharedKey, generatePrivateKey, keyToBase64, publicKey } from "../crypto/x25519.ts";
import { ConfigError, WarrenError } from "../lib/errors.ts";
import { type Cidr, formatCidr } from "../protocol/ip.ts";
import { chosenAddresses, CLIENT_KEEPALIVE, nextFreeAddresses, renderClientConfig } from "./wg-client.ts";
import { WG_RESULT_SCHEMAS, type WgRequest, type WgShow, type WgSync } from "./wg-control.ts";
import { qrMatrix, renderQr } from "./wg-qr.ts";
import { addSettings, flagValue, peersFileOf, type WgFlags } from "./wg-settings.ts";
import { formatOffline, formatShow } from "./wg-show.ts";

/** Sends one request to the running server; resolves with its result (unvalidated). */
export type WgControl = (req: WgRequest, socketPath: string) => Promise<unknown>;

/** What the commands read and write (main.ts passes the process's; tests pass fakes). */
export interface WgIo {
  /** All of standard input. */
  stdin(): Promise<string>;
  out(s: string): void;
  err(s: string): void;
  /** Absent = behave as if no server runs. */
  control?: WgControl;
  /** Wall clock in ms (default Date.now). */
  now?: () => number;
}

/** Flags of add/remove/show beyond those wg-settings reads. */
export interface PeerFlags extends WgFlags {
  address?: string[] | undefined;
  qr?: boolean | undefined;
  controlSocket: string;
}

/** Error codes that mean "no server with a WireGuard front door answers here". */
const NOT_RUNNING = new Set(["ERR_NO_SERVER", "ERR_WG_OFF"]);

/** The server's validated result, or null when none runs (other failures throw). */
export async function ask<C extends WgRequest["cmd"]>(io: WgIo, cmd: C, socket: string): Promise<v.InferOutput<(typeof WG_RESULT_SCHEMAS)[C]> | null> {
  if (!io.control) return null;
  let raw: unknown;
  try {
    raw = await io.control({ cmd } as WgRequest, socket);
  } catch (e) {
    if (e instanceof WarrenError && NOT_RUNNING.has(e.code)) return null;
    throw e;
  }
  const r = v.safeParse(WG_RESULT_SCHEMAS[cmd], raw);
  if (!r.success) throw new WarrenError("ERR_CONTROL", `the server's ${cmd} answer does not match this CLI; are both the same version?`);
  return r.output as v.InferOutput<(typeof WG_RESULT_SCHEMAS)[C]>;
}

function peerName(name: string | undefined, cmd: string): string {
  if (name === undefined) throw new ConfigError("", `warren wg ${cmd} needs a NAME`);
  return flagValue(PeerNameSchema, name, "NAME");
}

/** Header of a peers file warren creates. */
const NEW_FILE_HEADER = "# WireGuard peers of warren: wg-quick [Peer] sections, one per client, named by a\n# \"# Name =\" comment. warren wg add/remove edit this file; hand edits are fine too.\n";

function appendPeer(path: string, name: string, chosen: Cidr[], s: ReturnType<typeof addSettings>) {
  const priv = generatePrivateKey();
  const psk = generatePresharedKey();
  let addresses: Cidr[] = [];
  editPeersFile(path, (old) => {
    const parse = parsePeers(old, path);
    if (parse.errors.length > 0) throw peersError(parse);
    if (parse.peers.some((p) => p.name === name)) throw new ConfigError("", `a peer named ${name} is already in ${path}; warren wg remove ${name} first`);
    const plan = { pool: s.pool, pool6: s.pool6, peers: parse.peers, inUse: s.inUse };
    addresses = chosen.length > 0 ? chosenAddresses(chosen, plan) : nextFreeAddresses(plan);
    const section = renderPeerSection({ name, publicKey: publicKey(priv), presharedKey: psk, allowedIps: addresses, persistentKeepalive: null });
    const text = appendSection(old === "" ? NEW_FILE_HEADER : old, section);
    const check = parsePeers(text, path);
    if (check.errors.length > 0) throw peersError(check);
    return text;
  });
  return { priv, psk, addresses };
}

/** `warren wg add NAME`: returns the exit status. */
export async function runAdd(name: string | undefined, f: PeerFlags, io: WgIo): Promise<number> {
  const n = peerName(name, "add");
  const chosen = (f.address ?? []).map((a) => flagValue(AllowedIpSchema, a, "--address"));
  const info = await ask(io, "wg-info", f.controlSocket);
  const s = addSettings(f, info);
  const { priv, psk, addresses } = appendPeer(s.peersFile, n, chosen, s);
  let applied = "no server is running: it applies when warren server starts with --wg-listen";
  if (info) {
    try {
      await ask(io, "wg-sync", f.controlSocket);
      applied = "the running server applied it";
    } catch (e) {
      editPeersFile(s.peersFile, (old) => removeSection(old, n, s.peersFile)?.text ?? old);
      await ask(io, "wg-sync", f.controlSocket).catch(() => null); // in case it half-applied
      throw new WarrenError("ERR_SYNC", `the running server refused the new peer, so ${s.peersFile} is unchanged: ${(e as Error).message}`);
    }
  }
  const config = renderClientConfig({
    privateKey: keyToBase64(priv),
    addresses,
    dns: s.dns,
    searchDomains: s.searchDomains,
    mtu: s.mtu,
    serverPublicKey: s.serverPublicKey,
    presharedKey: keyToBase64(psk),
    endpoint: s.endpoint,
    routes: s.routes,
    keepalive: CLIENT_KEEPALIVE,
  });
  priv.fill(0);
  psk.fill(0);
  for (const note of s.notes) io.err(`${note}\n`);
  io.err(`added peer ${n} (${addresses.map(formatCidr).join(", ")}) to ${s.peersFile}; ${applied}\n`);
  if (f.qr) {
    io.err("scan this with the WireGuard app (Add tunnel > Scan from QR code); it holds the client's private key\n");
    io.out(renderQr(qrMatrix(config)));
  } else io.out(config);
  return 0;
}

function describeSync(r: WgSync | null): string {
  if (!r) return "no server is running";
  return r.removed.length > 0 ? "the running server dropped it and ended its session" : "the running server had not loaded it";
}

/** `warren wg remove NAME|PUBLICKEY`: returns the exit status. */
export async function runRemove(who: string | undefined, f: PeerFlags, io: WgIo): Promise<number> {
  if (who === undefined) throw new ConfigError("", "warren wg remove needs a NAME (or the peer's public key)");
  const info = await ask(io, "wg-info", f.controlSocket);
  const path = peersFileOf(f, info);
  readPeersFile(path, false); // a missing or broken file is reported as such, not as "no peer"
  let line = 0;
  editPeersFile(path, (old) => {
    const parse = parsePeers(old, path);
    if (parse.errors.length > 0) throw peersError(parse);
    const r = removeSection(old, who, path);
    if (!r) throw new ConfigError("", `no peer named ${who} in ${path}; warren wg show lists them`);
    line = r.line;
    return r.text;
  });
  let sync: WgSync | null = null;
  if (info) {
    try {
      sync = await ask(io, "wg-sync", f.controlSocket);
    } catch (e) {
      throw new WarrenError("ERR_SYNC", `removed ${who} from ${path} (line ${line}), but the running server did not apply it: ${(e as Error).message}`);
    }
  }
  io.err(`removed peer ${who} from ${path}; ${describeSync(sync)}\n`);
  return 0;
}

/** `warren wg show`: returns the exit status. */
export async function runShow(f: PeerFlags, io: WgIo): Promise<number> {
  const live: WgShow | null = await ask(io, "wg-show", f.controlSocket);
  const nowS = Math.floor((io.now ?? Date.now)() / 1000);
  if (live) {
    io.out(formatShow(live, nowS));
    return 0;
  }
  const path = peersFileOf(f, null);
  const { parse } = readPeersFile(path, true);
  io.out(formatOffline(path, parse.peers));
  return 0;
}

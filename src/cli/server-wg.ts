/**
 * @module cli/server-wg
 * The WireGuard front door of `warren server`, from its config (`--wg-listen` and the
 * rest of the `wg` section): the server's key file (created, mode 0600, when missing),
 * the peers file checked against the pools, and the ChaCha20-Poly1305 backend chosen at
 * start behind its known-answer test. Off (null) unless `wg.listen` is set.
 */

import { type ServerConfig } from "../config/server-schema.ts";
import { toPeerSpecs } from "../config/wg-door.ts";
import { loadOrCreateKeyFile } from "../config/wg-key-file.ts";
import { readPeersFile } from "../config/wg-peers-file.ts";
import { wgKeyFile } from "../config/wg-schema.ts";
import { selectAead } from "../crypto/select.ts";
import { keyToBase64, publicKey } from "../crypto/x25519.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint } from "../protocol/ip.ts";
import type { DoorSpec } from "../server/door.ts";
import { wireGuardDoor } from "../server/doors/wireguard/door.ts";

/** The door's spec and its line for the startup summary. */
export interface WgStart {
  spec: DoorSpec;
  summary: string;
  /** The door's AEAD is OpenSSL's: the fast data path may move WireGuard data on its workers. */
  native: boolean;
}

/** Builds the WireGuard door, or null when `wg.listen` is not set. Throws ConfigError naming the file. */
export function wireGuardFromConfig(cfg: ServerConfig, log: Logger): WgStart | null {
  const listen = cfg.wg.listen;
  if (listen === undefined) return null;
  const keyFile = wgKeyFile(cfg);
  const key = loadOrCreateKeyFile(keyFile);
  if (key.created) log.info(`created WireGuard key ${keyFile} (mode 0600)`);
  if (key.readableByOthers) log.warn(`wg.keyFile ${keyFile} is readable by others; chmod 600 it`);
  const { parse } = readPeersFile(cfg.wg.peers, true);
  for (const note of parse.notes) log.info(`peers file: ${note}`);
  const peers = toPeerSpecs(parse.peers, cfg, cfg.wg.peers);
  const crypto = selectAead();
  log.info(`WireGuard crypto: ${crypto.note}`);
  const spec = wireGuardDoor({ listen, privateKey: key.privateKey, peers, mtu: cfg.mtu, aead: crypto.backend });
  const shared = listen.host === cfg.listen.host && listen.port === cfg.listen.port ? " (shared with ToyVpn)" : "";
  const summary = `udp ${formatEndpoint(listen.host, listen.port)}${shared}, public key ${keyToBase64(publicKey(key.privateKey))}, ${peers.length} peer${peers.length === 1 ? "" : "s"} in ${cfg.wg.peers}; crypto ${crypto.backend.name}`;
  return { spec, summary, native: crypto.native };
}

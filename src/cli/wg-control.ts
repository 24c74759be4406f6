/**
 * @module cli/wg-control
 * The control-socket requests of `warren wg` and the results the server answers, as
 * valibot schemas (the same envelope as admin/control-protocol.ts: one JSON line each way).
 * Keys travel as base64 (public keys only; no private or preshared key ever crosses the
 * socket), addresses as text.
 *
 *   -> {"cmd":"wg-info"}
 *   <- {"ok":true,"result":{"publicKey":"...","listenPort":51820,"endpoint":"vpn.example.com",
 *       "peersFile":"/etc/warren/wg-peers.conf","pool":"10.8.0.0/24","pool6":null,
 *       "dns":["1.1.1.1"],"searchDomains":[],"mtu":1400,"routes":["0.0.0.0/0"],"inUse":["10.8.0.7"]}}
 *      The values a client config needs, from the running server. `inUse`: tunnel
 *      addresses that sessions hold right now (any front door), which a new peer must avoid.
 *   -> {"cmd":"wg-sync"}
 *   <- {"ok":true,"result":{"added":[{"publicKey":"...","name":"phone-1"}],"removed":[],"changed":[]}}
 *      Re-read the peers file and apply the difference without a restart: new peers can
 *      handshake at once; removed peers, and peers whose key or addresses changed, lose
 *      their session. A file that does not parse is refused (ok:false, ERR_CONFIG, the
 *      file:line message) and the server keeps its current peers.
 *   -> {"cmd":"wg-show"}
 *   <- {"ok":true,"result":{"interface":"warren0","publicKey":"...","listenPort":51820,"peers":[
 *       {"publicKey":"...","name":"phone-1","presharedKey":true,"endpoint":"203.0.113.5:41000",
 *        "allowedIps":["10.8.0.2/32"],"latestHandshake":1767000000,"rxBytes":1234,"txBytes":5678,
 *        "persistentKeepalive":null}]}}
 *      Every configured peer; `endpoint` null and `latestHandshake` 0 until it has shaken hands.
 *
 * Pure: schemas and types only.
 */

import * as v from "valibot";

/** The requests `warren wg` sends. */
export const WgRequestSchema = v.variant("cmd", [
  v.object({ cmd: v.literal("wg-info") }),
  v.object({ cmd: v.literal("wg-sync") }),
  v.object({ cmd: v.literal("wg-show") }),
]);
/** A `warren wg` request. */
export type WgRequest = v.InferOutput<typeof WgRequestSchema>;

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const PeerRef = v.object({ publicKey: v.string(), name: v.nullable(v.string()) });

/** Result of wg-info. */
export const WgInfoSchema = v.object({
  publicKey: v.string(),
  listenPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  /** `wg.endpoint` as configured (host, optionally :port); null when not set. */
  endpoint: v.nullable(v.string()),
  peersFile: v.string(),
  pool: v.string(),
  pool6: v.nullable(v.string()),
  dns: v.array(v.string()),
  searchDomains: v.array(v.string()),
  mtu: Count,
  routes: v.array(v.string()),
  inUse: v.array(v.string()),
});

/** Result of wg-sync. */
export const WgSyncSchema = v.object({ added: v.array(PeerRef), removed: v.array(PeerRef), changed: v.array(PeerRef) });

/** One peer in wg-show. */
export const WgShowPeerSchema = v.object({
  publicKey: v.string(),
  name: v.nullable(v.string()),
  presharedKey: v.boolean(),
  endpoint: v.nullable(v.string()),
  allowedIps: v.array(v.string()),
  /** Unix seconds of the last completed handshake; 0 = never. */
  latestHandshake: Count,
  rxBytes: Count,
  txBytes: Count,
  persistentKeepalive: v.nullable(Count),
});

/** Result of wg-show. */
export const WgShowSchema = v.object({
  interface: v.string(),
  publicKey: v.string(),
  listenPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  peers: v.array(WgShowPeerSchema),
});

/** Result schema of each request, for RESULT_SCHEMAS in admin/control-protocol.ts. */
export const WG_RESULT_SCHEMAS = { "wg-info": WgInfoSchema, "wg-sync": WgSyncSchema, "wg-show": WgShowSchema } satisfies Record<WgRequest["cmd"], v.GenericSchema>;

/** wg-info's result. */
export type WgInfo = v.InferOutput<typeof WgInfoSchema>;
/** wg-sync's result. */
export type WgSync = v.InferOutput<typeof WgSyncSchema>;
/** wg-show's result. */
export type WgShow = v.InferOutput<typeof WgShowSchema>;
/** One peer of wg-show's result. */
export type WgShowPeer = v.InferOutput<typeof WgShowPeerSchema>;

/**
 * @module admin/wg-commands
 * The control requests of `warren wg`: `wg-info` (what a new peer's client config needs),
 * `wg-sync` (re-read the peers file and apply the difference: new peers may handshake at
 * once, removed and changed ones lose their session, the others keep theirs) and
 * `wg-show` (every peer, as `wg show` lists them). A server without `--wg-listen`
 * answers ERR_WG_OFF. No private or preshared key ever crosses the socket.
 */

import type { ServerConfig } from "../config/server-schema.ts";
import { toPeerSpecs } from "../config/wg-door.ts";
import { readPeersFile } from "../config/wg-peers-file.ts";
import { keyToBase64 } from "../crypto/x25519.ts";
import { oneLine } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatCidr, formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import type { WgEntry } from "../server/doors/wireguard/peers.ts";
import { WireGuardDoor } from "../server/doors/wireguard/door.ts";
import { pushedRoutes } from "../server/push.ts";
import type { Server } from "../server/server.ts";
import { fail, ok, type Response } from "./control-protocol.ts";
import type { WgInfo, WgRequest, WgShow, WgSync } from "./wg-control.ts";

/** What the wg requests act on. */
export interface WgContext {
  server: Server;
  config: ServerConfig;
  log: Logger;
  /** Wall clock minus the server's clock (turns handshake times into Unix time). */
  wallOffset: number;
}

/** Answers one `wg-*` request. */
export function handleWg(ctx: WgContext, req: WgRequest): Response {
  const door = ctx.server.doors.find((d): d is WireGuardDoor => d instanceof WireGuardDoor);
  if (door === undefined) return fail("ERR_WG_OFF", "this server has no WireGuard front door (start it with --wg-listen HOST:PORT)");
  switch (req.cmd) {
    case "wg-info":
      return ok(info(ctx, door) satisfies WgInfo);
    case "wg-show":
      return ok(show(ctx, door) satisfies WgShow);
    case "wg-sync":
      return sync(ctx, door);
  }
}

function info(ctx: WgContext, door: WireGuardDoor): WgInfo {
  const c = ctx.config;
  const listen = c.wg.listen ?? c.listen;
  const ep = c.wg.endpoint;
  return {
    publicKey: keyToBase64(door.publicKey),
    listenPort: listen.port,
    endpoint: ep === undefined ? null : ep.port === null ? ep.host : formatEndpoint(ep.host, ep.port),
    peersFile: c.wg.peers,
    pool: formatCidr(c.pool),
    pool6: c.pool6 ? formatCidr(c.pool6) : null,
    dns: [...c.dns],
    searchDomains: [...c.searchDomains],
    mtu: c.mtu,
    routes: pushedRoutes(c.routes, c.pool6 ?? null).map(formatCidr),
    inUse: ctx.server.sessions.all().map((s) => formatIpv4(s.addr4)),
  };
}

function show(ctx: WgContext, door: WireGuardDoor): WgShow {
  const c = ctx.config;
  const pool6 = ctx.server.pool6;
  const peers = [...door.book.entries()].map((e) => {
    const p = e.peer;
    const allowed = [`${formatIpv4(e.spec.addr4)}/32`, ...(pool6 ? [`${formatIpv6(pool6.addressFor(e.spec.addr4))}/128`] : [])];
    const hs = p.lastHandshakeAt;
    return {
      publicKey: keyToBase64(e.spec.publicKey),
      name: e.spec.name,
      presharedKey: e.spec.presharedKey !== null,
      endpoint: p.address === null ? null : formatEndpoint(p.address, p.port),
      allowedIps: allowed,
      latestHandshake: Number.isFinite(hs) ? Math.floor((hs + ctx.wallOffset) / 1000) : 0,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      persistentKeepalive: e.spec.persistentKeepalive,
    };
  });
  return { interface: ctx.server.tun.name, publicKey: keyToBase64(door.publicKey), listenPort: (c.wg.listen ?? c.listen).port, peers };
}

function sync(ctx: WgContext, door: WireGuardDoor): Response {
  const c = ctx.config;
  let specs;
  try {
    specs = toPeerSpecs(readPeersFile(c.wg.peers, true).parse.peers, c, c.wg.peers);
  } catch (e) {
    ctx.log.warn(`wg-sync: peers file refused, peers unchanged: ${oneLine(e)}`);
    return fail("ERR_CONFIG", oneLine(e));
  }
  let r;
  try {
    r = door.sync(specs);
  } catch (e) {
    return fail("ERR_CONFIG", `${c.wg.peers}: ${oneLine(e)}`);
  }
  const ref = (e: WgEntry) => ({ publicKey: keyToBase64(e.spec.publicKey), name: e.spec.name });
  const out: WgSync = { added: r.added.map(ref), removed: r.removed.map(ref), changed: r.changed.map(ref) };
  ctx.log.info(`control: wg-sync: ${out.added.length} added, ${out.removed.length} removed, ${out.changed.length} changed (${door.book.size} peers)`);
  return ok(out);
}

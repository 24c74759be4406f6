/**
 * @module admin/client-control
 * The client's control socket, which `warren client status` asks: the same JSON-lines
 * socket as the server's (control.ts, control-client.ts), with two requests:
 *
 *   -> {"cmd":"hello"}    <- {"ok":true,"result":{"pid":1234,"version":"warren ..."}}
 *   -> {"cmd":"status"}   <- {"ok":true,"result":{"state":"up","server":...}}
 *
 * The status is built from the engine's getters (never written to) at the moment of the
 * request; engine times (the Clock's milliseconds) become wall-clock milliseconds with
 * the `now` / `wallNow` pair, as in snapshot.ts. The secret never appears here.
 */

import * as v from "valibot";
import type { Client } from "../client/client.ts";
import type { ClientPhase } from "../client/deps.ts";
import { mtuOf } from "../client/params.ts";
import type { Logger } from "../lib/log.ts";
import { type ControlDialect, type ControlServer, claimSocket, listenDialect } from "./control.ts";
import { type ControlPeer, controlCall } from "./control-client.ts";
import { fail, ok, type Response } from "./control-protocol.ts";

const count = v.number();
const when = v.nullable(v.number());

/** What `warren client status` shows. Times are wall-clock milliseconds since the Unix epoch. */
export const ClientStatusSchema = v.object({
  time: count,
  version: v.string(),
  pid: count,
  tun: v.string(),
  /** The server as configured (`vpn.example.org:8000`), and the address it resolved to (null before). */
  server: v.string(),
  serverAddress: v.nullable(v.string()),
  /** connecting: a handshake is under way; retrying: waiting for the next attempt (retryAt). */
  state: v.picklist(["connecting", "up", "retrying", "stopped"]),
  retryAt: when,
  lastError: v.nullable(v.object({ message: v.string(), at: count })),
  /** Pushed addresses as CIDRs; empty before the first connection. */
  addresses: v.array(v.string()),
  mtu: v.nullable(count),
  /** Routes this client added (`10.8.0.0/24 dev warren1`). */
  routes: v.array(v.string()),
  dns: v.object({ servers: v.array(v.string()), search: v.array(v.string()), applied: v.boolean() }),
  upSince: when,
  lastHandshake: when,
  handshakes: count,
  reconnects: count,
  /** From the server (rx) and to the server (tx); drops of packets from the TUN. */
  transfer: v.object({ rxPackets: count, rxBytes: count, txPackets: count, txBytes: count }),
  dropped: v.object({ whileDown: count, ipv6: count, junk: count }),
});
/** What `warren client status` shows. */
export type ClientStatus = v.InferOutput<typeof ClientStatusSchema>;

const ClientRequestSchema = v.variant("cmd", [v.object({ cmd: v.literal("hello") }), v.object({ cmd: v.literal("status") })]);
type ClientRequest = v.InferOutput<typeof ClientRequestSchema>;

const HINT = "; is another warren client running on this TUN in this network namespace? (or set --control-socket)";

/** The client socket's requests. */
const CLIENT_DIALECT: ControlDialect<ClientRequest> = {
  parse(line) {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { ok: false, error: "request is not JSON" };
    }
    const r = v.safeParse(ClientRequestSchema, raw);
    return r.success ? { ok: true, request: r.output } : { ok: false, error: `bad request: expected {"cmd":"status"} or {"cmd":"hello"}` };
  },
  hint: HINT,
};

const CLIENT_PEER: ControlPeer = { name: "client", hint: "is it running? see warren client status --help" };

/** What the status is built from: the engine and what the CLI knows besides. */
export interface ClientStatusSource {
  client: Client;
  version: string;
  pid: number;
  tun: string;
  server: string;
  /** The resolved server address, or null while not resolved. */
  serverAddress(): string | null;
  /** The routes the configurator added, described. */
  routes(): string[];
  dnsApplied: boolean;
}

const STATE: Record<ClientPhase, ClientStatus["state"]> = {
  idle: "connecting", opening: "connecting", handshaking: "connecting", up: "up", backoff: "retrying", stopped: "stopped",
};

/** The status now; `now` is the engine Clock's time, `wallNow` the wall clock at the same instant. */
export function buildClientStatus(src: ClientStatusSource, now: number, wallNow: number): ClientStatus {
  const wall = (t: number) => (t < 0 || !Number.isFinite(t) ? null : Math.round(wallNow - (now - t)));
  const c = src.client;
  const a = c.attempts;
  const p = c.params;
  const st = c.stats;
  return {
    time: wallNow,
    version: src.version,
    pid: src.pid,
    tun: src.tun,
    server: src.server,
    serverAddress: src.serverAddress(),
    state: STATE[c.state],
    retryAt: c.state === "backoff" ? wall(a.retryAt) : null,
    lastError: a.lastError === null ? null : { message: a.lastError.message, at: wall(a.lastError.at) ?? wallNow },
    addresses: p === null ? [] : p.addresses.map((x) => `${x.address}/${x.prefixLen}`),
    mtu: p === null ? null : mtuOf(p),
    routes: src.routes(),
    dns: { servers: p?.dns ?? [], search: p?.searchDomains ?? [], applied: src.dnsApplied },
    upSince: wall(a.firstUpAt),
    lastHandshake: wall(a.lastHandshakeAt),
    handshakes: st.handshakes,
    reconnects: st.reconnects,
    transfer: { rxPackets: st.rxPackets, rxBytes: st.rxBytes, txPackets: st.txPackets, txBytes: st.txBytes },
    dropped: { whileDown: st.txDropped, ipv6: st.ipv6Dropped, junk: st.junk },
  };
}

/**
 * Claims `path` (a stale socket is removed; one another live client answers on is
 * refused, ERR_CONTROL_IN_USE) and answers `hello` and `status` there until stop().
 * `clock` gives the engine time (the wall clock is Date.now()).
 */
export async function serveClientControl(path: string, src: ClientStatusSource, clock: { now(): number }, log: Logger): Promise<ControlServer> {
  await claimSocket(path, HINT);
  const handle = (req: ClientRequest): Response => {
    switch (req.cmd) {
      case "hello":
        return ok({ pid: src.pid, version: src.version });
      case "status":
        return ok(buildClientStatus(src, clock.now(), Date.now()));
      default:
        return fail("ERR_BAD_REQUEST", "unknown command");
    }
  };
  return listenDialect(path, handle, log, CLIENT_DIALECT);
}

/** Asks the client at `path` for its status (one-line WarrenError when none answers). */
export function requestClientStatus(path: string): Promise<ClientStatus> {
  return controlCall(path, { cmd: "status" }, ClientStatusSchema, CLIENT_PEER);
}

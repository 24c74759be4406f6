/**
 * @module server/doors/toyvpn
 * The ToyVpn front door (the Android ToyVpn app, warren's Linux client). Everything
 * ToyVpn-specific on the server lives here and beside it: datagram classification,
 * the handshake (toyvpn-handshake.ts), the parameter datagram (toyvpn-params.ts),
 * keepalives, sessions found by UDP endpoint (toyvpn-endpoints.ts) and the
 * rehandshake request. A client datagram, in order:
 *   1. classify by first byte: control (0x00) or IPv4/IPv6 data; junk is counted, dropped
 *   2. control: a lone 0x00 is a keepalive, echoed to a known endpoint; anything longer
 *      is a handshake
 *   3. data: session by endpoint (none: drop "no-session", and ask a recently closed
 *      endpoint to handshake again) -> the router (anti-spoofing, hub, TUN)
 * Packets for a client go out raw, one IP packet per datagram, batched per TUN read.
 */

import type { Authenticator } from "../../auth/secret.ts";
import { HandshakeLimiter, type HandshakeLimits, type Lockout } from "../../auth/ratelimit.ts";
import type { Cidr } from "../../protocol/ip.ts";
import { classify, Kind, KEEPALIVE, REHANDSHAKE } from "../../protocol/toyvpn.ts";
import type { DoorChange, DoorChangeResult, DoorContext, DoorSpec, FrontDoor } from "../door.ts";
import type { PushSettings } from "../push.ts";
import type { CloseReason, Session } from "../session.ts";
import type { OpenRefusal, SessionSpec } from "../sessions.ts";
import { EndpointIndex } from "./toyvpn-endpoints.ts";
import { Handshaker } from "./toyvpn-handshake.ts";
import { ToyParams } from "./toyvpn-params.ts";

/** What the ToyVpn door is configured with. */
export interface ToyVpnSettings extends PushSettings {
  listen: { host: string; port: number };
  /** The IPv6 pool, when clients get IPv6 addresses (pushed as a second `a`). */
  pool6?: Cidr | null | undefined;
  /** Handshake rate limits and lockouts; null = none. */
  limits: Partial<HandshakeLimits> | null;
}

/** The door's spec for Server.start; `auth` judges credentials. */
export function toyVpnDoor(settings: ToyVpnSettings, auth: Authenticator): DoorSpec & { params: ToyParams } {
  const params = new ToyParams(settings, settings.pool6 ?? null);
  return {
    protocol: "toyvpn",
    listen: settings.listen,
    params,
    create: (ctx) => new ToyVpnDoor(ctx, params, auth, settings.limits),
  };
}

/** Per-session state only ToyVpn has. */
interface ToyState {
  /** The 1024-byte parameter datagram. */
  params: Uint8Array;
  /** When the parameters were last sent (copies of a handshake within a second are not re-answered). */
  lastAnswer: number;
}

/** A running ToyVpn door. */
export class ToyVpnDoor implements FrontDoor {
  readonly protocol = "toyvpn" as const;
  readonly handshaker: Handshaker;
  readonly #ctx: DoorContext;
  readonly #params: ToyParams;
  readonly #endpoints = new EndpointIndex();
  readonly #state = new Map<Session, ToyState>();

  constructor(ctx: DoorContext, params: ToyParams, auth: Authenticator, limits: Partial<HandshakeLimits> | null) {
    this.#ctx = ctx;
    this.#params = params;
    const limiter = limits === null ? null : new HandshakeLimiter(limits, ctx.clock.now());
    this.handshaker = new Handshaker(
      {
        sessions: ctx.sessions,
        clock: ctx.clock,
        stats: ctx.stats,
        log: ctx.log,
        atEndpoint: (a, p) => this.#endpoints.get(a, p),
        open: (spec, now) => this.#open(spec, now),
        lastAnswer: (s) => this.#state.get(s)?.lastAnswer ?? -Infinity,
        markAnswered: (s, now) => {
          const st = this.#state.get(s);
          if (st) st.lastAnswer = now;
        },
        sendParams: (s) => {
          const st = this.#state.get(s);
          if (st) ctx.transport.sendNow(st.params, s.port, s.address);
        },
      },
      auth,
      limiter,
    );
  }

  /** Session at this endpoint (tests, admin). */
  sessionAt(address: string, port: number): Session | undefined {
    return this.#endpoints.get(address, port);
  }

  claims(d: Uint8Array): boolean {
    if (d.length === 0) return true;
    const b0 = d[0] as number;
    return b0 === 0 || b0 >>> 4 === 4 || b0 >>> 4 === 6;
  }

  datagram(d: Uint8Array, address: string, port: number, truncated: boolean): void {
    const ctx = this.#ctx;
    const kind = truncated ? Kind.Junk : classify(d);
    if (kind === Kind.Data4 || kind === Kind.Data6) {
      const s = this.#endpoints.get(address, port);
      if (s === undefined) return this.#noSession(address, port);
      s.lastSeen = ctx.clock.now();
      ctx.router.fromSession(s, d);
      return;
    }
    if (kind === Kind.Keepalive) {
      const s = this.#endpoints.get(address, port);
      if (s === undefined) return this.#noSession(address, port);
      s.lastSeen = ctx.clock.now();
      ctx.stats.keepalives++;
      ctx.transport.sendNow(KEEPALIVE, port, address);
      return;
    }
    if (kind === Kind.Handshake) return this.handshaker.handshake(d, address, port);
    // Empty, junk, truncated, or a rehandshake request (meaningless to a server).
    ctx.stats.junk++;
  }

  queue(s: Session, pkt: Uint8Array): boolean {
    return this.#ctx.transport.queue(pkt, s.port, s.address);
  }

  sendNow(s: Session, pkt: Uint8Array): boolean {
    return this.#ctx.transport.sendNow(pkt, s.port, s.address);
  }

  flush(): void {
    this.#ctx.transport.flush();
  }

  closed(s: Session, _reason: CloseReason, now: number): void {
    this.#endpoints.delete(s, now);
    this.#state.delete(s);
  }

  tick(now: number): void {
    this.#endpoints.prune(now);
    this.handshaker.tick(now);
  }

  change(c: DoorChange): DoorChangeResult {
    if (c.key !== "secret") return "ignored";
    const auth = this.handshaker.auth;
    if (auth.setSecret === undefined) return { error: "this server does not authenticate with one shared secret" };
    auth.setSecret(c.value);
    return "applied";
  }

  lockouts(now: number): Lockout[] {
    return this.handshaker.limiter?.lockouts(now) ?? [];
  }

  unlock(address: string): boolean {
    return this.handshaker.limiter?.unlock(address) ?? false;
  }

  close(): void {
    this.handshaker.close();
  }

  #noSession(address: string, port: number): void {
    const ctx = this.#ctx;
    ctx.stats.drops["no-session"]++;
    if (this.#endpoints.shouldAskRehandshake(address, port, ctx.clock.now())) {
      ctx.stats.rehandshakeRequests++;
      ctx.transport.sendNow(REHANDSHAKE, port, address);
    }
  }

  /** Opens a session of this door, indexes it by endpoint and builds its parameters. */
  #open(spec: Omit<SessionSpec, "door">, now: number): { ok: true; session: Session } | { ok: false; reason: OpenRefusal | "params" } {
    const sessions = this.#ctx.sessions;
    const res = sessions.open({ ...spec, door: this }, now);
    if (!res.ok) return res;
    const s = res.session;
    let params: Uint8Array;
    try {
      params = this.#params.datagram(s.addr4, s.addr6);
    } catch {
      sessions.close(s, "failed", now);
      return { ok: false, reason: "params" };
    }
    this.#state.set(s, { params, lastAnswer: -Infinity });
    this.#endpoints.set(s);
    return res;
  }
}

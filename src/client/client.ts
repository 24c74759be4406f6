/**
 * @module client/client
 * The Linux client's engine: handshake, parameters, moving packets, keepalive,
 * dead-peer detection and reconnects. It reaches the OS only through ClientDeps (deps.ts)
 * (a connected-socket factory, the network configurator, a Clock), so tests drive
 * it with fakes and a manual clock.
 *
 * States:
 *   opening -> handshaking -> up            first connection: start() resolves
 *                   |  (5 s without answer, refused, bad parameters, no socket)
 *                   v
 *   first connection out of retries (--retry, attempts.ts): start() rejects (the CLI exits 1)
 *   otherwise:      backoff (socket closed) -> opening (new socket, new port) -> ...
 *   up -> handshaking (same socket) on the server's `!rehandshake`, an ICMP error,
 *         or 5 s of sending data without hearing anything back (dead-peer detection;
 *         the idle keepalive, a lone 0x00 x3 after 15 s of silence, does not count, as
 *         the reference server never echoes it)
 *   any -> stopped (stop(); idempotent)
 * The TUN, its addresses and routes stay while reconnecting; they change only when
 * the server pushes different parameters, and go away on stop().
 *
 * Data path (no await, no per-packet allocation): TUN batch -> packet() queues each
 * view on the transport -> flush() sends them with one sendMany; an IPv6 packet is
 * dropped (counted in ipv6Dropped) when no IPv6 address was pushed: the kernel's own
 * router solicitations and MLD reports from the TUN's link-local address have no
 * business in the tunnel. A datagram from the server whose first nibble is 4 or 6 is
 * written to the TUN whole. Liveness is tracked with counters only; a 100 ms tick
 * turns them into times (liveness.ts).
 */

import { WarrenError } from "../lib/errors.ts";
import { buildHandshake, classify, HANDSHAKE_REPEAT, KEEPALIVE, Kind, type Params } from "../protocol/toyvpn.ts";
import type { TunSink } from "../tun/device.ts";
import type { ClientTransport, ClientTransportSink } from "../transport/client-udp.ts";
import { Attempts } from "./attempts.ts";
import type { ClientDeps, ClientOptions, ClientPhase, ClientStats } from "./deps.ts";
import { Liveness } from "./liveness.ts";
import { firstAddress } from "./params.ts";
import { readParams, Tunnel } from "./tunnel.ts";
import { HANDSHAKE_WAIT_MS, KEEPALIVE_REPEAT, RESPONSE_TIMEOUT_MS, TICK_MS } from "./timing.ts";

/** The client engine: TunSink for the TUN, ClientTransportSink for the socket. */
export class Client implements TunSink, ClientTransportSink {
  readonly stats: ClientStats = {
    rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, ipv6Dropped: 0, junk: 0, handshakes: 0, reconnects: 0,
  };
  /** Connection attempts: retries, the last error, when the tunnel came up (read by status). */
  readonly attempts: Attempts;
  readonly #d: ClientDeps;
  readonly #opts: ClientOptions;
  readonly #hello: Uint8Array;
  #state: ClientPhase = "idle";
  #transport: ClientTransport | null = null;
  readonly #tunnel: Tunnel;
  /** Whether TUN packets go to the socket (up, or re-handshaking on a live socket). */
  #forward = false;
  #stopTick: () => void = () => {};
  #first: { resolve(p: Params): void; reject(e: Error): void } | null = null;
  #handshakeDeadline = 0;
  #probe = false;
  /** Whether an IPv6 address was pushed (else IPv6 from the TUN is dropped). */
  #v6 = false;
  readonly #live = new Liveness();

  constructor(opts: ClientOptions, deps: ClientDeps) {
    this.#opts = opts;
    this.#d = deps;
    this.#hello = buildHandshake(opts.credential);
    this.attempts = new Attempts(opts.retry ?? 0);
    this.#tunnel = new Tunnel(deps.net, deps.log, this, (err) => this.#d.onFatal?.(err));
  }

  /** Current state name (for tests and status). */
  get state(): ClientPhase {
    return this.#state;
  }

  /** The parameters in force, or null before the first connection. */
  get params(): Params | null {
    return this.#tunnel.params;
  }

  /**
   * Connects for the first time: resolves with the parameters once the TUN is set up,
   * rejects (WarrenError, one line) when the server does not answer within 5 s, refuses,
   * or answers with bad parameters, and `opts.retry` allows no further attempt; also
   * when the host cannot be configured. After that, reconnects happen on their own.
   */
  start(): Promise<Params> {
    if (this.#state !== "idle") return Promise.reject(new WarrenError("ERR_CLIENT_STATE", "client already started"));
    const done = new Promise<Params>((resolve, reject) => {
      this.#first = { resolve, reject };
    });
    this.#stopTick = this.#d.clock.every(TICK_MS, () => this.tick());
    this.#open();
    return done;
  }

  /** Closes the socket, removes what the configurator added, closes the TUN. Idempotent. */
  stop(): void {
    if (this.#state === "stopped") return;
    this.#state = "stopped";
    this.#forward = false;
    this.#stopTick();
    this.#closeTransport();
    this.#tunnel.down();
    const first = this.#first;
    this.#first = null;
    first?.reject(new WarrenError("ERR_CLIENT_STOPPED", "stopped before the tunnel came up"));
  }

  // --- TUN -> server ---

  packet(pkt: Uint8Array): void {
    const t = this.#transport;
    if (!this.#v6 && (pkt[0] ?? 0) >>> 4 === 6) {
      this.stats.ipv6Dropped++;
      return;
    }
    if (!this.#forward || t === null || !t.queue(pkt)) {
      this.stats.txDropped++;
      return;
    }
    this.#live.tx++;
    this.stats.txPackets++;
    this.stats.txBytes += pkt.length;
  }

  flush(): void {
    this.#transport?.flush();
  }

  // --- server -> TUN ---

  datagram(d: Uint8Array, truncated: boolean): void {
    if (d.length === 0 || truncated) {
      this.stats.junk++;
      return;
    }
    this.#live.rx++;
    const v = (d[0] as number) >>> 4;
    if (v === 4 || v === 6) {
      const tun = this.#tunnel.tun;
      if (tun !== null && tun.write(d)) {
        this.stats.rxPackets++;
        this.stats.rxBytes += d.length;
      }
      return;
    }
    switch (classify(d)) {
      case Kind.Keepalive:
        return;
      case Kind.Rehandshake:
        if (this.#state === "up") {
          this.#d.log.info("server asked for a new handshake");
          this.#handshake();
        }
        return;
      case Kind.Handshake:
        // 0x00 + text: the parameters. Copies that arrive once up are ignored.
        if (this.#state === "handshaking") this.#onParams(d);
        return;
      default:
        this.stats.junk++;
    }
  }

  unreachable(code: string): void {
    if (this.#state === "handshaking") {
      this.#fail(`server ${this.#opts.serverLabel} unreachable (${code}${code === "ECONNREFUSED" ? ": nothing listens on that port" : ""})`);
    } else if (this.#state === "up") {
      this.#d.log.warn(`server unreachable (${code}); handshaking again`);
      this.#handshake();
    }
  }

  // --- timers ---

  /** Runs every TICK_MS: timeouts, keepalive, dead-peer detection, reconnect. */
  tick(): void {
    const now = this.#d.clock.now();
    this.#live.observe(now);
    switch (this.#state) {
      case "handshaking":
        if (now >= this.#handshakeDeadline) {
          this.#fail(`no answer from ${this.#opts.serverLabel} within ${HANDSHAKE_WAIT_MS / 1000} s (wrong secret, or no ToyVpn server there?)`);
        }
        return;
      case "backoff":
        if (now >= this.attempts.retryAt) this.#open();
        return;
      case "up":
        if (this.#live.peerSilent(now)) {
          // A quiet probe: servers that do not echo keepalives (the reference server) land here too.
          this.#d.log.debug(`nothing heard from the server for ${RESPONSE_TIMEOUT_MS / 1000} s while sending; handshaking again`);
          this.#handshake(true);
        } else if (this.#live.takeKeepalive(now)) {
          for (let i = 0; i < KEEPALIVE_REPEAT; i++) this.#transport?.sendNow(KEEPALIVE);
        }
        return;
      default:
    }
  }

  // --- connection steps ---

  /** Opens a new socket, then handshakes on it. */
  #open(): void {
    this.#state = "opening";
    this.#forward = false;
    this.#d.openTransport().then(
      (t) => {
        if (this.#state !== "opening") {
          t.close();
          return;
        }
        this.#transport = t;
        t.start(this);
        this.#handshake();
      },
      (err: unknown) => {
        if (this.#state === "opening") this.#fail(err instanceof Error ? err.message : String(err));
      },
    );
  }

  /**
   * Sends the handshake HANDSHAKE_REPEAT times and waits HANDSHAKE_WAIT_MS for the parameters.
   * `probe`: a liveness check, whose success is not worth an info line.
   */
  #handshake(probe = false): void {
    const t = this.#transport;
    if (t === null) return;
    this.#probe = probe;
    this.#state = "handshaking";
    this.#handshakeDeadline = this.#d.clock.now() + HANDSHAKE_WAIT_MS;
    this.stats.handshakes++;
    for (let i = 0; i < HANDSHAKE_REPEAT; i++) t.sendNow(this.#hello);
  }

  /** The parameters arrived: configure the host (tunnel.ts), then the tunnel is up. */
  #onParams(d: Uint8Array): void {
    const r = readParams(d);
    if (!r.ok) return this.#fail(`bad parameters from ${this.#opts.serverLabel}: ${r.problem}`);
    const tunnel = this.#tunnel;
    const again = tunnel.params !== null && !(this.#probe && this.attempts.failures === 0 && r.text === tunnel.text);
    try {
      tunnel.apply(r.params, r.text);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return this.#fail(`cannot configure the tunnel: ${msg}`, true);
    }
    this.#state = "up";
    this.#forward = true;
    this.#v6 = firstAddress(r.params, 6) !== undefined;
    this.attempts.succeeded(this.#d.clock.now());
    this.#live.reset(this.#d.clock.now());
    if (again) this.#d.log.info(`connected again to ${this.#opts.serverLabel}`);
    const first = this.#first;
    this.#first = null;
    first?.resolve(r.params);
  }

  /**
   * A connection attempt failed: the socket is dropped and, when attempts.ts allows, a new
   * one is tried after an exponential, jittered delay (at most BACKOFF_CAP_MS). Otherwise
   * start() rejects with `reason` (first connection), or a running client stops (`fatal`:
   * the host cannot be configured).
   */
  #fail(reason: string, fatal = false): void {
    this.#closeTransport();
    this.#forward = false;
    this.#state = "backoff";
    const now = this.#d.clock.now();
    const delay = fatal ? null : this.attempts.failed(reason, now, this.#d.random ?? Math.random);
    if (delay === null) {
      if (fatal) this.attempts.gaveUp(reason, now);
      const first = this.#first;
      this.#first = null;
      const err = new WarrenError("ERR_HANDSHAKE", reason);
      if (first !== null) first.reject(err);
      else if (this.#d.onFatal) this.#d.onFatal(err);
      else this.#d.log.error(reason);
      return;
    }
    const again = this.attempts.everUp ? "reconnecting" : "retrying";
    if (this.attempts.everUp) this.stats.reconnects++;
    this.#d.log.warn(`${reason}; ${again} in ${(delay / 1000).toFixed(1)} s${this.attempts.attemptText()}`);
  }

  #closeTransport(): void {
    this.#transport?.close();
    this.#transport = null;
  }
}

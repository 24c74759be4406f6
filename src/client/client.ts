/**
 * @module client/client
 * The Linux client's engine: handshake, parameters, moving packets, keepalive,
 * dead-peer detection and reconnects. It reaches the OS only through ClientDeps
 * (a connected-socket factory, the network configurator, a Clock), so tests drive
 * it with fakes and a manual clock.
 *
 * States:
 *   opening -> handshaking -> up            first connection: start() resolves
 *                   |  (5 s without answer, refused, bad parameters)
 *                   v
 *   first attempt: start() rejects (the CLI exits non-zero)
 *   later:         backoff (socket closed) -> opening (new socket, new port) -> ...
 *   up -> handshaking (same socket) on the server's `!rehandshake`, an ICMP error,
 *         or 5 s of sending data without hearing anything back (dead-peer detection;
 *         the idle keepalive, a lone 0x00 x3 after 15 s of silence, does not count, as
 *         the reference server never echoes it)
 *   any -> stopped (stop(); idempotent)
 * The TUN, its addresses and routes stay while reconnecting; they change only when
 * the server pushes different parameters, and go away on stop().
 *
 * Data path (no await, no per-packet allocation): TUN batch -> packet() queues each
 * view on the transport -> flush() sends them with one sendMany; a datagram from the
 * server whose first nibble is 4 or 6 is written to the TUN whole. Liveness is
 * tracked with counters only; a 100 ms tick turns them into times.
 */

import { WarrenError } from "../lib/errors.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import {
  buildHandshake, classify, HANDSHAKE_REPEAT, KEEPALIVE, Kind, paramsText, parseParams, type Params,
} from "../protocol/toyvpn.ts";
import type { TunDevice, TunSink } from "../tun/device.ts";
import type { ClientTransport, ClientTransportSink } from "../transport/client-udp.ts";
import type { ClientNet } from "./net.ts";
import { checkParams } from "./params.ts";
import {
  backoffDelay, HANDSHAKE_WAIT_MS, KEEPALIVE_IDLE_MS, KEEPALIVE_REPEAT, RESPONSE_TIMEOUT_MS, TICK_MS,
} from "./timing.ts";

/** OS access and environment, injected. */
export interface ClientDeps {
  /** Opens a new socket connected to the server. */
  openTransport(): Promise<ClientTransport>;
  net: ClientNet;
  clock: Clock;
  log: Logger;
  /** Uniform [0, 1) for backoff jitter; Math.random by default. */
  random?: () => number;
  /** Called once when a running client cannot go on (the tunnel cannot be reconfigured). */
  onFatal?: (err: Error) => void;
}

/** Client settings the engine needs. */
export interface ClientOptions {
  /** `secret` or `secret:id`, sent after the 0x00. */
  credential: string;
  /** The server as the user wrote it, for messages (`vpn.example.org:8000`). */
  serverLabel: string;
}

/** Counters of one client run. */
export interface ClientStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** TUN packets dropped while no connection was up. */
  txDropped: number;
  /** Server datagrams neither data nor a known control message. */
  junk: number;
  handshakes: number;
  reconnects: number;
}

/** Where the client is in its life (see the module comment). */
export type ClientPhase = "idle" | "opening" | "handshaking" | "up" | "backoff" | "stopped";

/** The client engine: TunSink for the TUN, ClientTransportSink for the socket. */
export class Client implements TunSink, ClientTransportSink {
  readonly stats: ClientStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, junk: 0, handshakes: 0, reconnects: 0 };
  readonly #d: ClientDeps;
  readonly #opts: ClientOptions;
  readonly #hello: Uint8Array;
  #state: ClientPhase = "idle";
  #transport: ClientTransport | null = null;
  #tun: TunDevice | null = null;
  #params: Params | null = null;
  #paramsText = "";
  /** Whether TUN packets go to the socket (up, or re-handshaking on a live socket). */
  #forward = false;
  #stopTick: () => void = () => {};
  #first: { resolve(p: Params): void; reject(e: Error): void } | null = null;
  #handshakeDeadline = 0;
  #retryAt = 0;
  #failures = 0;
  #probe = false;
  // liveness: counters bumped on the data path, turned into times by the tick
  #rx = 0;
  #tx = 0;
  #seenRx = 0;
  #seenTx = 0;
  #lastRx = 0;
  #lastKeepalive = 0;
  /** When we started sending without hearing back; -1 while answered. */
  #awaitingSince = -1;

  constructor(opts: ClientOptions, deps: ClientDeps) {
    this.#opts = opts;
    this.#d = deps;
    this.#hello = buildHandshake(opts.credential);
  }

  /** Current state name (for tests and status). */
  get state(): ClientPhase {
    return this.#state;
  }

  /** The parameters in force, or null before the first connection. */
  get params(): Params | null {
    return this.#params;
  }

  /**
   * Connects for the first time: resolves with the parameters once the TUN is set up,
   * rejects (WarrenError, one line) when the server does not answer within 5 s, refuses,
   * or answers with bad parameters. After that, reconnects happen on their own.
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
    this.#tun = null;
    this.#d.net.down();
    const first = this.#first;
    this.#first = null;
    first?.reject(new WarrenError("ERR_CLIENT_STOPPED", "stopped before the tunnel came up"));
  }

  // --- TUN -> server ---

  packet(pkt: Uint8Array): void {
    const t = this.#transport;
    if (!this.#forward || t === null || !t.queue(pkt)) {
      this.stats.txDropped++;
      return;
    }
    this.#tx++;
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
    this.#rx++;
    const v = (d[0] as number) >>> 4;
    if (v === 4 || v === 6) {
      const tun = this.#tun;
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
    const heard = this.#rx !== this.#seenRx;
    if (heard) {
      this.#seenRx = this.#rx;
      this.#lastRx = now;
      this.#awaitingSince = -1;
    }
    if (this.#tx !== this.#seenTx) {
      this.#seenTx = this.#tx;
      if (!heard && this.#awaitingSince < 0) this.#awaitingSince = now;
    }
    switch (this.#state) {
      case "handshaking":
        if (now >= this.#handshakeDeadline) {
          this.#fail(`no answer from ${this.#opts.serverLabel} within ${HANDSHAKE_WAIT_MS / 1000} s (wrong secret, or no ToyVpn server there?)`);
        }
        return;
      case "backoff":
        if (now >= this.#retryAt) this.#open();
        return;
      case "up":
        if (this.#awaitingSince >= 0 && now - this.#awaitingSince >= RESPONSE_TIMEOUT_MS) {
          // A quiet probe: servers that do not echo keepalives (the reference server) land here too.
          this.#d.log.debug(`nothing heard from the server for ${RESPONSE_TIMEOUT_MS / 1000} s while sending; handshaking again`);
          this.#handshake(true);
        } else if (now - this.#lastRx >= KEEPALIVE_IDLE_MS && now - this.#lastKeepalive >= KEEPALIVE_IDLE_MS) {
          // Keeps NAT mappings and the server's session alive. Not counted as traffic: an idle
          // tunnel to a server that does not echo keepalives must not re-handshake all the time.
          this.#lastKeepalive = now;
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

  /** The TUN stopped reading: the client cannot go on. */
  readonly #tunFailed = (err: Error): void => {
    this.#d.onFatal?.(new Error(`tun ${this.#tun?.name ?? ""} stopped: ${err.message}`));
  };

  #onParams(d: Uint8Array): void {
    const text = (paramsText(d) ?? "").trim();
    const parsed = parseParams(text);
    const problem = parsed.ok ? checkParams(parsed.params) : parsed.error;
    if (!parsed.ok || problem !== null) return this.#fail(`bad parameters from ${this.#opts.serverLabel}: ${problem}`);
    const params = parsed.params;
    try {
      if (this.#params === null) {
        this.#tun = this.#d.net.up(params);
        this.#tun.start(this, this.#tunFailed);
      } else if (text !== this.#paramsText) {
        this.#d.log.info(`parameters changed: ${text}`);
        const tun = this.#d.net.update(params);
        if (tun !== this.#tun) tun.start(this, this.#tunFailed);
        this.#tun = tun;
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return this.#fail(`cannot configure the tunnel: ${msg}`, true);
    }
    const again = this.#params !== null && !(this.#probe && this.#failures === 0 && text === this.#paramsText);
    this.#params = params;
    this.#paramsText = text;
    this.#state = "up";
    this.#forward = true;
    this.#failures = 0;
    const now = this.#d.clock.now();
    this.#lastRx = now;
    this.#lastKeepalive = now;
    this.#awaitingSince = -1;
    this.#seenRx = this.#rx;
    this.#seenTx = this.#tx;
    if (again) this.#d.log.info(`connected again to ${this.#opts.serverLabel}`);
    const first = this.#first;
    this.#first = null;
    first?.resolve(params);
  }

  /**
   * A connection attempt failed. Before the first success that ends start() with `reason`;
   * afterwards the socket is dropped and a new one is tried after an exponential,
   * jittered delay (at most BACKOFF_CAP_MS). `fatal` failures also stop a running client.
   */
  #fail(reason: string, fatal = false): void {
    const first = this.#first;
    if (first !== null || fatal) {
      this.#first = null;
      this.#closeTransport();
      this.#forward = false;
      this.#state = "backoff";
      this.#retryAt = Infinity;
      const err = new WarrenError("ERR_HANDSHAKE", reason);
      if (first !== null) first.reject(err);
      else if (this.#d.onFatal) this.#d.onFatal(err);
      else this.#d.log.error(reason);
      return;
    }
    this.#closeTransport();
    this.#forward = false;
    this.#state = "backoff";
    const delay = backoffDelay(this.#failures++, this.#d.random ?? Math.random);
    this.#retryAt = this.#d.clock.now() + delay;
    this.stats.reconnects++;
    this.#d.log.warn(`${reason}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
  }

  #closeTransport(): void {
    this.#transport?.close();
    this.#transport = null;
  }
}

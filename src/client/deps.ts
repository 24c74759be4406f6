/**
 * @module client/deps
 * The client engine's contract with whoever runs it (`cli/client.ts`, or a test): what it
 * is given (ClientDeps: a connected-socket factory, the network configurator, a Clock,
 * a logger; ClientOptions) and what it reports back (ClientStats, ClientPhase).
 */

import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { ClientTransport } from "../transport/client-udp.ts";
import type { ClientNet } from "./net.ts";

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
  /** How many times a failed first connection is tried again: 0 (the default) none, Infinity for ever. */
  retry?: number;
}

/** Counters of one client run. */
export interface ClientStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** TUN packets dropped while no connection was up. */
  txDropped: number;
  /** IPv6 packets from the TUN dropped because no IPv6 address was pushed (link-local chatter). */
  ipv6Dropped: number;
  /** Server datagrams neither data nor a known control message. */
  junk: number;
  handshakes: number;
  reconnects: number;
}

/** Where the client is in its life (see the module comment). */
export type ClientPhase = "idle" | "opening" | "handshaking" | "up" | "backoff" | "stopped";

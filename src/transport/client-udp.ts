/**
 * @module transport/client-udp
 * The client's side of the UDP path: one *connected* Bun.udpSocket per connection
 * attempt (a reconnect opens a new one, so it leaves from a new source port like the
 * Android app), plus server name resolution (`node:dns` lookup, IPv4 or IPv6).
 *
 * A connected socket receives only the server's datagrams, and the kernel reports
 * ICMP errors for it (port unreachable while the server is down) through Bun's
 * `error` callback; they reach the engine as `unreachable()`.
 *
 * Sending is udp-base.ts's, shared with the server: `queue()` during a TUN batch,
 * `flush()` hands the batch to the kernel with one `sendMany`; a short count is copied
 * into a bounded retry queue and tried once more on `drain` or the next turn, then
 * dropped (UDP).
 */

import { lookup } from "node:dns/promises";
import { errorCode, WarrenError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint, isIpLiteral, parseIpv4 } from "../protocol/ip.ts";
import type { TransportStats } from "./transport.ts";
import { UdpBase } from "./udp-base.ts";

/** Receives what the server sends on one connected socket. */
export interface ClientTransportSink {
  /** One datagram from the server; `data` is valid only during the call. */
  datagram(data: Uint8Array, truncated: boolean): void;
  /** The kernel reported the server unreachable (ICMP; `code` is e.g. ECONNREFUSED). */
  unreachable(code: string): void;
}

/** One connected UDP socket to the server, as the client engine sees it. */
export interface ClientTransport {
  /** Local address and port the socket is bound to. */
  readonly local: { address: string; port: number };
  readonly stats: TransportStats;
  /** Starts delivering the server's datagrams and ICMP reports to `sink`. */
  start(sink: ClientTransportSink): void;
  /** Queues one datagram until `flush()`; `data` must stay valid until then. False = the batch holds MAX_BATCH already (dropped, counted). */
  queue(data: Uint8Array): boolean;
  /** Sends the queue with one sendMany; a short count is retried once, then dropped (as the server's Transport). */
  flush(): void;
  /** Sends one datagram now (control messages). False = dropped (counted). `data` is not kept. */
  sendNow(data: Uint8Array): boolean;
  /** Closes the socket: the queue is forgotten, sends fail (counted), nothing more reaches the sink. Idempotent. */
  close(): void;
}

/** A resolved server endpoint. */
export interface ServerEndpoint {
  address: string;
  family: 4 | 6;
  port: number;
}

/** Resolves `host` (IP literal or name) with the system resolver; the first answer wins. */
export async function resolveServer(host: string, port: number): Promise<ServerEndpoint> {
  if (isIpLiteral(host)) return { address: host, family: parseIpv4(host) !== null ? 4 : 6, port };
  try {
    const r = await lookup(host);
    return { address: r.address, family: r.family === 6 ? 6 : 4, port };
  } catch (e) {
    const code = errorCode(e) ?? "error";
    throw new WarrenError("ERR_RESOLVE", `cannot resolve server ${host}: ${code}`);
  }
}

type BunConnected = Bun.udp.ConnectedSocket<"uint8array">;

/** Opens a UDP socket connected to `server` (bound to `::` or `0.0.0.0`, any port). */
export async function openClientUdp(server: ServerEndpoint, log: Logger): Promise<ConnectedUdp> {
  const t = new ConnectedUdp(log);
  try {
    const sock = await Bun.udpSocket({
      hostname: server.family === 6 ? "::" : "0.0.0.0",
      port: 0,
      binaryType: "uint8array",
      connect: { hostname: server.address, port: server.port },
      socket: {
        data: (_s, data, _port, _addr, flags) => t.sink?.datagram(data, flags?.truncated === true),
        drain: () => t.onDrain(),
        // Bun 1.4.4 calls this with the Error only (BUN-NOTES §1): take the last argument.
        error: (...a: unknown[]) => t.onError(a[a.length - 1]),
      },
    });
    t.attach(sock);
  } catch (e) {
    const code = errorCode(e) ?? "error";
    throw new WarrenError("ERR_CONNECT", `cannot open a UDP socket to ${formatEndpoint(server.address, server.port)}: ${code}`);
  }
  return t;
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

/** A connected Bun.udpSocket as a ClientTransport. Construct with `openClientUdp`. */
export class ConnectedUdp extends UdpBase<BunConnected> implements ClientTransport {
  sink: ClientTransportSink | null = null;

  constructor(log: Logger) {
    super(log, 1, (sock) => ({
      sendMany: (items) => sock.sendMany(items as Uint8Array[]),
      sendOne: (items, at) => sock.send(items[at] as Uint8Array),
    }));
  }

  start(sink: ClientTransportSink): void {
    this.sink = sink;
  }

  queue(data: Uint8Array): boolean {
    return this.enqueue(data);
  }

  sendNow(data: Uint8Array): boolean {
    return this.sendWith((sock) => sock.send(data));
  }

  /** Also forgets the sink: nothing reaches the engine after close. */
  override close(): void {
    super.close();
    this.sink = null;
  }

  /** The kernel's word that the server is unreachable goes to the engine. */
  protected handleSocketError(code: string): boolean {
    if (!UNREACHABLE_CODES.has(code)) return false;
    this.sink?.unreachable(code);
    return true;
  }
}

/**
 * @module transport/udp
 * The Transport on one Bun.udpSocket. A socket bound to `::` is dual-stack and
 * reports IPv4 peers as `::ffff:a.b.c.d` (replies go back to that string).
 *
 * Sending: `queue()`/`flush()` batch with one `sendMany` (transport/batch.ts: bounded
 * retry on backpressure, then drop and count). Every send is wrapped: an ICMP error
 * pending on the socket makes Bun throw ECONNREFUSED from `send`, which must never
 * reach the packet loop.
 */

import { BatchSender } from "./batch.ts";
import type { Transport, TransportSink, TransportStats } from "./transport.ts";
import { ERRNO } from "../lib/errno.ts";
import { errorCode, SysError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint } from "../protocol/ip.ts";

/** Datagrams one flush can carry (one TUN drain batch is capped below this). */
export const MAX_BATCH = 1024;
/** Datagrams kept for the one retry after a short sendMany. */
export const RETRY_CAP = 256;

type BunSocket = Bun.udp.Socket<"uint8array">;

/** Opens the UDP socket on `host:port` (`::` = dual-stack). */
export async function openUdp(host: string, port: number, log: Logger): Promise<UdpTransport> {
  const t = new UdpTransport(log);
  try {
    const sock = await Bun.udpSocket({
      hostname: host,
      port,
      binaryType: "uint8array",
      socket: {
        data: (_s, data, rport, raddr, flags) => t.sink?.datagram(data, raddr, rport, flags.truncated),
        drain: () => t.onDrain(),
        // Bun 1.4.4 calls this with the Error only (BUN-NOTES §1): take the last argument.
        error: (...a: unknown[]) => t.onError(a[a.length - 1]),
      },
    });
    t.attach(sock);
  } catch (e) {
    const code = errorCode(e) ?? "";
    const hint =
      code === "EADDRINUSE"
        ? "another process (another warren?) listens there; pick another --listen port"
        : code === "EACCES"
          ? "ports below 1024 need root or CAP_NET_BIND_SERVICE"
          : code === "EADDRNOTAVAIL"
            ? "that address is not configured on this host"
            : "check --listen";
    const errno = code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL" ? ERRNO[code] : ERRNO.EINVAL;
    throw new SysError("bind", errno, `listen on UDP ${formatEndpoint(host, port)}`, hint);
  }
  return t;
}

/** One Bun.udpSocket as a Transport. Construct with `openUdp`. */
export class UdpTransport implements Transport {
  readonly stats: TransportStats = { sentDatagrams: 0, sendDrops: 0, socketErrors: 0 };
  sink: TransportSink | null = null;
  #sock: BunSocket | null = null;
  readonly #log: Logger;
  readonly #sender: BatchSender;
  #lastErrorLog = 0;

  constructor(log: Logger) {
    this.#log = log;
    this.#sender = new BatchSender(3, MAX_BATCH, RETRY_CAP, this.stats, () => {
      const sock = this.#sock;
      return sock === null
        ? null
        : {
            sendMany: (items) => sock.sendMany(items),
            sendOne: (items, at) => sock.send(items[at] as Uint8Array, items[at + 1] as number, items[at + 2] as string),
          };
    });
  }

  /** @internal */
  attach(sock: BunSocket): void {
    this.#sock = sock;
  }

  /**
   * The socket's file descriptor, for buffer tuning in platform/ (Bun exposes an
   * untyped `fd` getter on UDP sockets), or null when unavailable.
   */
  get fd(): number | null {
    const fd = (this.#sock as unknown as { fd?: unknown } | null)?.fd;
    return typeof fd === "number" && fd >= 0 ? fd : null;
  }

  get local(): { address: string; port: number } {
    return { address: this.#sock?.hostname ?? "", port: this.#sock?.port ?? 0 };
  }

  start(sink: TransportSink): void {
    this.sink = sink;
  }

  queue(data: Uint8Array, port: number, address: string): boolean {
    return this.#sender.queue(data, port, address);
  }

  flush(): void {
    this.#sender.flush();
  }

  sendNow(data: Uint8Array, port: number, address: string): boolean {
    if (this.#sock === null) return false;
    try {
      if (this.#sock.send(data, port, address)) {
        this.stats.sentDatagrams++;
        return true;
      }
    } catch {
      // ECONNREFUSED from a pending ICMP error, or an unroutable address: drop.
    }
    this.stats.sendDrops++;
    return false;
  }

  /** @internal Kernel buffer has room again. */
  onDrain(): void {
    this.#sender.onDrain();
  }

  /** @internal */
  onError(err: unknown): void {
    this.stats.socketErrors++;
    const code = errorCode(err);
    if (code === "ECONNREFUSED") return; // ICMP port unreachable from a gone client
    const now = performance.now();
    if (now - this.#lastErrorLog > 5000) {
      this.#lastErrorLog = now;
      this.#log.warn(`udp socket error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  close(): void {
    this.#sock?.close();
    this.#sock = null;
    this.#sender.clear();
  }
}

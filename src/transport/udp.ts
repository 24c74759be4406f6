/**
 * @module transport/udp
 * The Transport on one Bun.udpSocket. A socket bound to `::` is dual-stack and
 * reports IPv4 peers as `::ffff:a.b.c.d` (replies go back to that string).
 *
 * Sending, counters, drain, errors and close are udp-base.ts's (shared with the
 * client): `queue()`/`flush()` batch with one `sendMany`, a short count is retried once,
 * then dropped and counted; a throwing send never reaches the packet loop.
 */

import type { Transport, TransportSink } from "./transport.ts";
import { UdpBase } from "./udp-base.ts";
import { ERRNO } from "../lib/errno.ts";
import { errorCode, SysError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatEndpoint } from "../protocol/ip.ts";

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
export class UdpTransport extends UdpBase<BunSocket> implements Transport {
  sink: TransportSink | null = null;

  constructor(log: Logger) {
    super(log, 3, (sock) => ({
      sendMany: (items) => sock.sendMany(items),
      sendOne: (items, at) => sock.send(items[at] as Uint8Array, items[at + 1] as number, items[at + 2] as string),
    }));
  }

  start(sink: TransportSink): void {
    this.sink = sink;
  }

  queue(data: Uint8Array, port: number, address: string): boolean {
    return this.enqueue(data, port, address);
  }

  sendNow(data: Uint8Array, port: number, address: string): boolean {
    return this.sendWith((sock) => sock.send(data, port, address));
  }

  /** ICMP port unreachable from a gone client is expected (and not logged). */
  protected handleSocketError(code: string): boolean {
    return code === "ECONNREFUSED";
  }
}

/**
 * @module cli/server-datapath
 * The data path of `warren server` (`--data-path`, docs/DATAPATH.md). With `fast` the TUN
 * is created multi-queue with a virtio_net_hdr (for offloads), the socket of `--listen`
 * is remembered, and the server gets a factory for the fast path on both. When the TUN
 * cannot be made that way (an interface of that name exists without multi-queue) it is
 * opened as before and the factory says why the server runs the simple path instead.
 */

import type { ServerConfig } from "../config/server-schema.ts";
import { ERRNO } from "../lib/errno.ts";
import { SysError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { openFastPath } from "../datapath/fast-path.ts";
import { disableIpv6 } from "../platform/linux/sysctl.ts";
import type { DataPath, DataPathPools } from "../server/datapath.ts";
import type { TunSpec } from "../server/server.ts";
import type { Transport } from "../transport/transport.ts";
import { type LinuxTun, openLinuxTun } from "../tun/linux.ts";

/** What `warren server` hands Server.start for its data path. */
export interface DataPathWiring {
  /** Opens the server's TUN (ServerDeps.openTun). */
  openTun(spec: TunSpec): LinuxTun;
  /** Notes a freshly opened socket (the fast path joins the one of `--listen`); returns it. */
  opened<T extends Transport & { readonly fd: number | null }>(host: string, port: number, t: T): T;
  /** ServerDeps.openDataPath, with `--data-path fast`. */
  openDataPath?: (pools: DataPathPools) => DataPath;
}

/**
 * The TUN. Without an IPv6 pool its own link-local address would only send router
 * solicitations into the void: IPv6 is switched off before the link goes up, so not even
 * the first one is sent (and counted as a drop).
 */
function openServerTun(spec: TunSpec, fast: boolean): LinuxTun {
  return openLinuxTun({ ...spec, multiQueue: fast, vnetHdr: fast, ...(spec.ipv6 === undefined ? { beforeUp: noIpv6 } : {}) });
}

function noIpv6(name: string): void {
  try {
    disableIpv6(name);
  } catch {
    // a read-only /proc/sys: harmless, the kernel's router solicitations are dropped and counted
  }
}

/**
 * The data-path pieces for `cfg` (see the module comment). With `wgNative` (the WireGuard door
 * runs on OpenSSL's AEAD) the workers move WireGuard transport data too, joining WireGuard's
 * own socket when it has one.
 */
export function dataPathWiring(cfg: ServerConfig, log: Logger, wgNative = false): DataPathWiring {
  if (cfg.dataPath === "simple") return { openTun: (spec) => openServerTun(spec, false), opened: (_h, _p, t) => t };
  let tun: LinuxTun | null = null;
  let controlFd: number | null = null;
  let wgFd: number | null = null;
  let refused: string | null = null;
  const wgListen = wgNative ? cfg.wg.listen : undefined;
  const wgShared = wgListen !== undefined && wgListen.host === cfg.listen.host && wgListen.port === cfg.listen.port;
  return {
    openTun(spec) {
      try {
        tun = openServerTun(spec, true);
      } catch (e) {
        if (!(e instanceof SysError && e.syscall === "ioctl TUNSETIFF" && e.errno === ERRNO.EINVAL)) throw e;
        refused = `${spec.name} exists without multi-queue support (${e.message})`;
        log.debug(`tun: ${refused}; opening it as a single queue`);
        tun = openServerTun(spec, false);
      }
      return tun;
    },
    opened(host, port, t) {
      if (host === cfg.listen.host && port === cfg.listen.port) controlFd = t.fd;
      else if (wgListen !== undefined && host === wgListen.host && port === wgListen.port) wgFd = t.fd;
      return t;
    },
    openDataPath(pools) {
      if (refused !== null) throw new Error(refused);
      if (tun === null || controlFd === null) throw new Error("the TUN or the UDP socket has no file descriptor");
      const wireGuard = wgListen === undefined || (!wgShared && wgFd === null) ? undefined : { listen: wgListen, controlFd: wgShared ? null : wgFd };
      return openFastPath({
        ...pools, listen: cfg.listen, tunFd: tun.fd, tunName: tun.name, vnet: tun.vnetHeader, controlFd, udpBuffer: cfg.udpBuffer,
        ...(wireGuard && { wireGuard }),
      });
    },
  };
}

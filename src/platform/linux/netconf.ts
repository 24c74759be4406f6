/**
 * @module platform/linux/netconf
 * Interface and route configuration through ioctls on a throw-away datagram socket
 * (no `ip` binary): IPv4 address + netmask, IPv6 address, MTU, up, IPv4/IPv6 routes,
 * and the current default routes read from /proc. Every function validates its
 * arguments first (ConfigError naming the bad value), opens its socket, and closes it
 * in one `finally`; a failed call throws SysError naming the operation and interface,
 * e.g. `cannot set MTU 1400 on warren0: EINVAL`. All of it needs CAP_NET_ADMIN and acts
 * on the network namespace of the calling process.
 *
 * Layouts (64-bit Linux; x86_64 and aarch64 agree), from linux/route.h, linux/ipv6.h,
 * linux/ipv6_route.h: struct rtentry (120 bytes), struct in6_ifreq (24), struct in6_rtmsg (80).
 */

import { readFileSync } from "node:fs";
import { ERRNO } from "../../lib/errno.ts";
import { ConfigError, SysError } from "../../lib/errors.ts";
import { AF_INET, AF_INET6, cString, errno, HOST_LE, libc, nativeBuffer, releaseBuffer, SOCK_CLOEXEC, SOCK_DGRAM } from "./libc.ts";
import { checkIfName, IFR_SIN_ADDR, IFR_SIN_FAMILY, IFR_UNION, newIfreq } from "./ifreq.ts";
import { IPV4_LEN, isUnspecified, networkOf, parseIpv4Bytes as parseIpv4, parseIpv6, prefixMask } from "../../protocol/ip.ts";
import { type DefaultRoute, parseDefaultRoute4, parseDefaultRoute6 } from "./proc-route.ts";

export type { DefaultRoute } from "./proc-route.ts";

// ioctl requests (linux/sockios.h)
const SIOCADDRT = 0x890b;
const SIOCDELRT = 0x890c;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFADDR = 0x8916;
const SIOCSIFNETMASK = 0x891c;
const SIOCSIFMTU = 0x8922;

// interface flags (linux/if.h) and route flags (linux/route.h)
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
const RTF_HOST = 0x4;

// struct sockaddr_in, relative to its start (16 bytes)
const SIN_FAMILY = 0;
const SIN_ADDR = 4;

// struct rtentry
const RTENTRY_SIZE = 120;
const RT_DST = 8;
const RT_GATEWAY = 24;
const RT_GENMASK = 40;
const RT_FLAGS = 56;
const RT_DEV = 88;

// struct in6_ifreq { struct in6_addr ifr6_addr; __u32 ifr6_prefixlen; int ifr6_ifindex; }
const IN6_IFREQ_SIZE = 24;
const IFR6_ADDR = 0;
const IFR6_PREFIXLEN = 16;
const IFR6_IFINDEX = 20;

// struct in6_rtmsg
const IN6_RTMSG_SIZE = 80;
const RTMSG_DST = 0;
const RTMSG_GATEWAY = 32;
const RTMSG_DST_LEN = 52;
const RTMSG_FLAGS = 72;
const RTMSG_IFINDEX = 76;

const { ENETDOWN, EAFNOSUPPORT } = ERRNO;

/** Runs `fn` with a fresh AF_INET/AF_INET6 datagram socket, closed in exactly one place. */
function withSocket<T>(family: number, what: string, fn: (fd: number) => T): T {
  const fd = libc.socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const err = errno();
    const hint = family === AF_INET6 && err === EAFNOSUPPORT ? "IPv6 is disabled on this host" : undefined;
    throw new SysError("socket", err, what, hint);
  }
  try {
    return fn(fd);
  } finally {
    libc.close(fd);
  }
}

/** ioctl(fd, request, buf), throwing SysError(`cannot <what>`) on failure. */
function ioctlOrThrow(fd: number, request: number, name: string, buf: Uint8Array, what: string): void {
  if (libc.ioctl(fd, request, buf) < 0) {
    const err = errno();
    const hint = err === ENETDOWN ? "bring the interface up first" : undefined;
    throw new SysError(`ioctl ${name}`, err, what, hint);
  }
}

function ipv4OrThrow(field: string, text: string): Uint8Array {
  const bytes = parseIpv4(text);
  if (bytes === null) throw new ConfigError(field, `${JSON.stringify(text)} is not an IPv4 address`);
  return bytes;
}

function ipv6OrThrow(field: string, text: string): Uint8Array {
  const bytes = parseIpv6(text);
  if (bytes === null) throw new ConfigError(field, `${JSON.stringify(text)} is not an IPv6 address`);
  return bytes;
}

function checkPrefix(prefixLen: number, max: number): void {
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > max) {
    throw new ConfigError("prefix", `${prefixLen} is not a prefix length 0-${max}`);
  }
}

/** Writes a struct sockaddr_in holding `addr` at `off`. */
function putSockaddrIn(buf: Uint8Array, view: DataView, off: number, addr: Uint8Array): void {
  view.setUint16(off + SIN_FAMILY, AF_INET, HOST_LE);
  buf.set(addr, off + SIN_ADDR);
}

/** Interface index of `name` (if_nametoindex). Throws SysError (ENODEV) when it does not exist. */
export function ifIndex(name: string): number {
  checkIfName(name);
  const index = libc.if_nametoindex(cString(name));
  if (index === 0) throw new SysError("if_nametoindex", errno(), `find interface ${name}`);
  return index;
}

/** Sets the IPv4 address and netmask of `name` (SIOCSIFADDR, SIOCSIFNETMASK); replaces a previous one. */
export function setIpv4(name: string, address: string, prefixLen: number): void {
  const addr = ipv4OrThrow("address", address);
  checkPrefix(prefixLen, 32);
  const what = `set address ${address}/${prefixLen} on ${name}`;
  const { buf, view } = newIfreq(name);
  withSocket(AF_INET, what, (fd) => {
    putSockaddrIn(buf, view, IFR_UNION, addr);
    ioctlOrThrow(fd, SIOCSIFADDR, "SIOCSIFADDR", buf, what);
    buf.set(prefixMask(prefixLen, IPV4_LEN), IFR_SIN_ADDR);
    view.setUint16(IFR_SIN_FAMILY, AF_INET, HOST_LE);
    ioctlOrThrow(fd, SIOCSIFNETMASK, "SIOCSIFNETMASK", buf, what);
  });
}

/** Sets the MTU of `name` (SIOCSIFMTU). */
export function setMtu(name: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < 1 || mtu > 0xffff) throw new ConfigError("mtu", `${mtu} is not an MTU 1-65535`);
  const what = `set MTU ${mtu} on ${name}`;
  const { buf, view } = newIfreq(name);
  view.setInt32(IFR_UNION, mtu, HOST_LE);
  withSocket(AF_INET, what, (fd) => ioctlOrThrow(fd, SIOCSIFMTU, "SIOCSIFMTU", buf, what));
}

/** Brings `name` up: SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP | IFF_RUNNING added. */
export function setUp(name: string): void {
  const what = `bring up ${name}`;
  const { buf, view } = newIfreq(name);
  withSocket(AF_INET, what, (fd) => {
    ioctlOrThrow(fd, SIOCGIFFLAGS, "SIOCGIFFLAGS", buf, what);
    view.setUint16(IFR_UNION, view.getUint16(IFR_UNION, HOST_LE) | IFF_UP | IFF_RUNNING, HOST_LE);
    ioctlOrThrow(fd, SIOCSIFFLAGS, "SIOCSIFFLAGS", buf, what);
  });
}

/** Adds an IPv6 address to `name` (SIOCSIFADDR on an AF_INET6 socket, struct in6_ifreq). */
export function addIpv6(name: string, address: string, prefixLen: number): void {
  const addr = ipv6OrThrow("address", address);
  checkPrefix(prefixLen, 128);
  const what = `add address ${address}/${prefixLen} to ${name}`;
  const index = ifIndex(name);
  const buf = new Uint8Array(new ArrayBuffer(IN6_IFREQ_SIZE));
  const view = new DataView(buf.buffer);
  buf.set(addr, IFR6_ADDR);
  view.setUint32(IFR6_PREFIXLEN, prefixLen, HOST_LE);
  view.setInt32(IFR6_IFINDEX, index, HOST_LE);
  withSocket(AF_INET6, what, (fd) => ioctlOrThrow(fd, SIOCSIFADDR, "SIOCSIFADDR", buf, what));
}

/** Shared by addRoute4/delRoute4. Host bits of `dest` are cleared; `gateway` 0.0.0.0 means none. */
function route4(request: number, verb: "add" | "delete", dest: string, prefixLen: number, dev: string, gateway?: string): void {
  const dst = ipv4OrThrow("route", dest);
  checkPrefix(prefixLen, 32);
  checkIfName(dev);
  const gw = gateway === undefined ? null : ipv4OrThrow("gateway", gateway);
  const hasGw = gw !== null && !isUnspecified(gw);
  const what = `${verb} route ${dest}/${prefixLen}${hasGw ? ` via ${gateway}` : ""} dev ${dev}`;
  const buf = new Uint8Array(new ArrayBuffer(RTENTRY_SIZE));
  const view = new DataView(buf.buffer);
  putSockaddrIn(buf, view, RT_DST, networkOf(dst, prefixLen));
  putSockaddrIn(buf, view, RT_GENMASK, prefixMask(prefixLen, IPV4_LEN));
  let flags = RTF_UP | (prefixLen === 32 ? RTF_HOST : 0);
  if (hasGw) {
    putSockaddrIn(buf, view, RT_GATEWAY, gw);
    flags |= RTF_GATEWAY;
  }
  view.setUint16(RT_FLAGS, flags, HOST_LE);
  // rt_dev is a char * inside the struct: the name buffer stays pinned until the call returns.
  const devText = cString(dev);
  const devName = nativeBuffer(devText.length);
  devName.buf.set(devText);
  try {
    view.setBigUint64(RT_DEV, BigInt(devName.ptr), HOST_LE);
    withSocket(AF_INET, what, (fd) => ioctlOrThrow(fd, request, verb === "add" ? "SIOCADDRT" : "SIOCDELRT", buf, what));
  } finally {
    releaseBuffer(devName.buf);
  }
}

/** Adds an IPv4 route `dest/prefixLen` through `dev`, via `gateway` when given (SIOCADDRT). */
export function addRoute4(dest: string, prefixLen: number, dev: string, gateway?: string): void {
  route4(SIOCADDRT, "add", dest, prefixLen, dev, gateway);
}

/** Deletes the IPv4 route added by {@link addRoute4} with the same arguments (SIOCDELRT). */
export function delRoute4(dest: string, prefixLen: number, dev: string, gateway?: string): void {
  route4(SIOCDELRT, "delete", dest, prefixLen, dev, gateway);
}

/** Shared by addRoute6/delRoute6: struct in6_rtmsg on an AF_INET6 socket. `gateway` :: means none. */
function route6(request: number, verb: "add" | "delete", dest: string, prefixLen: number, dev: string, gateway?: string): void {
  const dst = ipv6OrThrow("route", dest);
  checkPrefix(prefixLen, 128);
  const gw = gateway === undefined ? null : ipv6OrThrow("gateway", gateway);
  const hasGw = gw !== null && !isUnspecified(gw);
  const what = `${verb} route ${dest}/${prefixLen}${hasGw ? ` via ${gateway}` : ""} dev ${dev}`;
  const index = ifIndex(dev);
  const buf = new Uint8Array(new ArrayBuffer(IN6_RTMSG_SIZE));
  const view = new DataView(buf.buffer);
  buf.set(networkOf(dst, prefixLen), RTMSG_DST);
  view.setUint16(RTMSG_DST_LEN, prefixLen, HOST_LE);
  let flags = RTF_UP;
  if (hasGw) {
    buf.set(gw, RTMSG_GATEWAY);
    flags |= RTF_GATEWAY;
  }
  view.setUint32(RTMSG_FLAGS, flags, HOST_LE);
  view.setInt32(RTMSG_IFINDEX, index, HOST_LE);
  withSocket(AF_INET6, what, (fd) => ioctlOrThrow(fd, request, verb === "add" ? "SIOCADDRT" : "SIOCDELRT", buf, what));
}

/** Adds an IPv6 route `dest/prefixLen` through `dev`, via `gateway` when given (metric 1024). */
export function addRoute6(dest: string, prefixLen: number, dev: string, gateway?: string): void {
  route6(SIOCADDRT, "add", dest, prefixLen, dev, gateway);
}

/** Deletes the IPv6 route added by {@link addRoute6} with the same arguments. */
export function delRoute6(dest: string, prefixLen: number, dev: string, gateway?: string): void {
  route6(SIOCDELRT, "delete", dest, prefixLen, dev, gateway);
}

/** Reads a /proc file, or null when it does not exist (no IPv6, no procfs). */
function readProc(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The IPv4 default route with the lowest metric (/proc/net/route); gateway `0.0.0.0` = on-link. */
export function defaultGateway4(): DefaultRoute | null {
  const text = readProc("/proc/net/route");
  return text === null ? null : parseDefaultRoute4(text, HOST_LE);
}

/** The IPv6 default route with the lowest metric (/proc/net/ipv6_route); gateway `::` = on-link. */
export function defaultGateway6(): DefaultRoute | null {
  const text = readProc("/proc/net/ipv6_route");
  return text === null ? null : parseDefaultRoute6(text);
}

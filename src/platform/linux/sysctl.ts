/**
 * @module platform/linux/sysctl
 * Turns IP forwarding on through /proc/sys and puts it back exactly as it was; turns
 * IPv6 off on one interface (the client's TUN when no IPv6 address was pushed).
 *
 * The kernel cascades the master switches: writing `net/ipv4/ip_forward` rewrites
 * `net/ipv4/conf/{all,default,<every interface>}/forwarding`, and writing
 * `net/ipv6/conf/all/forwarding` rewrites `default` and every interface. So before
 * changing a switch, every `forwarding` value of that family is recorded; restoring
 * writes the switch back first, then any per-interface value the cascade changed.
 * Interfaces gone by then (the TUN) are skipped. All of it acts on the network
 * namespace of the calling process.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { oneLine, WarrenError } from "../../lib/errors.ts";

/** Where /proc/sys is (tests pass a temporary tree). */
export const PROC_SYS = "/proc/sys";

const SWITCH: Record<4 | 6, string> = { 4: "net/ipv4/ip_forward", 6: "net/ipv6/conf/all/forwarding" };
const CONF: Record<4 | 6, string> = { 4: "net/ipv4/conf", 6: "net/ipv6/conf" };

/** Original values of the sysctls warren changed: path relative to /proc/sys -> value text. */
export type SysctlSnapshot = Record<string, string>;

/** The value of sysctl `rel` (e.g. `net/ipv6/conf/eth0/accept_ra`), or null when it does not exist. */
export function readSysctl(rel: string, root = PROC_SYS): string | null {
  return read(root, rel);
}

function read(root: string, rel: string): string | null {
  try {
    return readFileSync(join(root, rel), "utf8").trim();
  } catch {
    return null;
  }
}

function write(root: string, rel: string, value: string): void {
  try {
    writeFileSync(join(root, rel), `${value}\n`);
  } catch (e) {
    throw new WarrenError("ERR_SYSCTL", `cannot set ${rel.replaceAll("/", ".")} to ${value}: ${oneLine(e)}`, { cause: e });
  }
}

/**
 * What enabling forwarding for `families` would change: the switch and every per-interface
 * `forwarding` value of each family whose switch is not already 1. Empty when nothing to do.
 */
export function forwardingSnapshot(families: Array<4 | 6>, root = PROC_SYS): SysctlSnapshot {
  const snap: SysctlSnapshot = {};
  for (const f of families) {
    const sw = read(root, SWITCH[f]);
    if (sw === null) throw new WarrenError("ERR_SYSCTL", `cannot read ${SWITCH[f].replaceAll("/", ".")}${f === 6 ? " (is IPv6 disabled?)" : ""}`);
    if (sw === "1") continue;
    snap[SWITCH[f]] = sw;
    const conf = join(root, CONF[f]);
    const names = existsSync(conf) ? readdirSync(conf) : [];
    for (const name of names.sort()) {
      const rel = `${CONF[f]}/${name}/forwarding`;
      if (rel === SWITCH[f]) continue;
      const v = read(root, rel);
      if (v !== null) snap[rel] = v;
    }
  }
  return snap;
}

/** Writes 1 to the switches recorded in `snap`. */
export function enableForwarding(snap: SysctlSnapshot, root = PROC_SYS): void {
  for (const f of [4, 6] as const) if (SWITCH[f] in snap) write(root, SWITCH[f], "1");
}

/**
 * Puts back everything in `snap`: switches first (they cascade), then each other value
 * that now differs. Keeps going past errors and throws the first one at the end.
 * Returns what it changed, as `net.ipv4.ip_forward=0` lines.
 */
export function restoreSysctls(snap: SysctlSnapshot, root = PROC_SYS): string[] {
  let first: unknown = null;
  const changed: string[] = [];
  const put = (rel: string, value: string, report: boolean) => {
    try {
      write(root, rel, value);
      if (report) changed.push(`${rel.replaceAll("/", ".")}=${value}`);
    } catch (e) {
      first ??= e;
    }
  };
  for (const f of [4, 6] as const) {
    const v = snap[SWITCH[f]];
    if (v !== undefined) put(SWITCH[f], v, read(root, SWITCH[f]) !== v);
  }
  for (const [rel, value] of Object.entries(snap)) {
    if (rel === SWITCH[4] || rel === SWITCH[6]) continue;
    const now = read(root, rel);
    if (now !== null && now !== value) put(rel, value, true);
  }
  if (first !== null) throw first;
  return changed;
}

/**
 * Turns IPv6 off on interface `ifname` (`net.ipv6.conf.<ifname>.disable_ipv6=1`): its
 * link-local address goes, and the kernel stops sending router solicitations and MLD
 * reports from it. Returns false when the interface has no IPv6 settings (IPv6 is off in
 * the kernel, or the interface is gone); throws ERR_SYSCTL when the write is refused
 * (e.g. a read-only /proc/sys).
 */
export function disableIpv6(ifname: string, root = PROC_SYS): boolean {
  const rel = `${CONF[6]}/${ifname}/disable_ipv6`;
  if (ifname === "" || ifname.includes("/") || read(root, rel) === null) return false;
  write(root, rel, "1");
  return true;
}

/**
 * @module platform/linux/ifreq
 * `struct ifreq` (linux/if.h) as named offsets, plus the interface-name rule the kernel
 * applies (`dev_valid_name`), checked before any call so a bad name fails with a clear
 * message instead of an errno. Layout is the 64-bit one (x86_64 and aarch64 agree):
 *
 *   struct ifreq { char ifr_name[16]; union { struct sockaddr ifr_addr; short ifr_flags;
 *                  int ifr_mtu; int ifr_ifindex; ... } };            // 40 bytes
 */

import { ConfigError } from "../../lib/errors.ts";

/** Size of the interface name field, including the terminating NUL. */
export const IFNAMSIZ = 16;
/** Size of struct ifreq on 64-bit Linux. */
export const IFREQ_SIZE = 40;
/** Offset of `ifr_name`. */
export const IFR_NAME = 0;
/** Offset of the union: `ifr_addr`, `ifr_flags`, `ifr_mtu`, `ifr_ifindex`. */
export const IFR_UNION = 16;
/** Offset of `sin_family` in a `struct sockaddr_in` placed at the union. */
export const IFR_SIN_FAMILY = IFR_UNION;
/** Offset of `sin_addr` (4 bytes, network order) in a `struct sockaddr_in` placed at the union. */
export const IFR_SIN_ADDR = IFR_UNION + 4;

const encoder = new TextEncoder();

/** Why `name` is not a valid Linux interface name, or null when it is. */
export function ifNameProblem(name: string): string | null {
  const len = encoder.encode(name).length;
  if (len === 0) return "is empty";
  if (len >= IFNAMSIZ) return `is ${len} bytes long; at most ${IFNAMSIZ - 1} are allowed`;
  if (name === "." || name === "..") return "is reserved";
  if (name.includes("/")) return "must not contain '/'";
  if (name.includes(":")) return "must not contain ':'";
  if (/\s/.test(name)) return "must not contain whitespace";
  return null;
}

/** Throws a ConfigError (field `interface`) unless `name` is a valid interface name. */
export function checkIfName(name: string): void {
  const problem = ifNameProblem(name);
  if (problem !== null) {
    throw new ConfigError("interface", `${JSON.stringify(name)} is not a valid interface name: it ${problem}`);
  }
}

/** A zeroed struct ifreq with `ifr_name` set; validates the name first. */
export function newIfreq(name: string): { buf: Uint8Array; view: DataView } {
  checkIfName(name);
  const buf = new Uint8Array(new ArrayBuffer(IFREQ_SIZE));
  buf.set(encoder.encode(name), IFR_NAME);
  return { buf, view: new DataView(buf.buffer) };
}

/** The interface name the kernel wrote back into `ifr_name`. */
export function ifreqName(buf: Uint8Array): string {
  const field = buf.subarray(IFR_NAME, IFR_NAME + IFNAMSIZ);
  const end = field.indexOf(0);
  return new TextDecoder().decode(end < 0 ? field : field.subarray(0, end));
}

/**
 * @module client/params
 * What the client accepts from a parameter datagram beyond the Android parser's own
 * checks (`protocol/toyvpn.ts` parseParams): the addresses and routes must be IP
 * literals of a sane prefix length, there must be an address, and the MTU must fit an
 * interface. Pure.
 */

import { parseIpv4, parseIpv6 } from "../protocol/ip.ts";
import type { Params } from "../protocol/toyvpn.ts";

/** MTU used when the server pushes none (`m` is optional in the protocol). */
export const DEFAULT_CLIENT_MTU = 1500;
/** Smallest MTU an IPv4 interface accepts (RFC 791). */
export const MIN_CLIENT_MTU = 68;

/** An address or route of the parameters, with its family. */
export interface FamilyPrefix {
  family: 4 | 6;
  address: string;
  prefixLen: number;
}

/** 4, 6, or null when `text` is not an IP literal. */
export function familyOf(text: string): 4 | 6 | null {
  if (parseIpv4(text) !== null) return 4;
  if (parseIpv6(text) !== null) return 6;
  return null;
}

/** Why `p` cannot be applied, or null when it can. */
export function checkParams(p: Params): string | null {
  if (p.mtu !== 0 && p.mtu < MIN_CLIENT_MTU) return `MTU ${p.mtu} is below ${MIN_CLIENT_MTU}`;
  if (p.addresses.length === 0) return "no address (a,...) in the parameters";
  for (const [what, list] of [["address", p.addresses], ["route", p.routes]] as const) {
    for (const a of list) {
      const fam = familyOf(a.address);
      if (fam === null) return `${what} ${JSON.stringify(a.address)} is not an IP address`;
      if (a.prefixLen > (fam === 4 ? 32 : 128)) return `${what} ${a.address}/${a.prefixLen}: prefix length out of range`;
    }
  }
  return null;
}

/** The MTU to configure. */
export function mtuOf(p: Params): number {
  return p.mtu === 0 ? DEFAULT_CLIENT_MTU : p.mtu;
}

/** The first pushed address of `family`, or undefined. */
export function firstAddress(p: Params, family: 4 | 6): { address: string; prefixLen: number } | undefined {
  return p.addresses.find((a) => familyOf(a.address) === family);
}

/** Pushed addresses/routes with their families (entries that are not IP literals are left out). */
export function withFamily(list: Params["routes"]): FamilyPrefix[] {
  const out: FamilyPrefix[] = [];
  for (const r of list) {
    const family = familyOf(r.address);
    if (family !== null) out.push({ family, address: r.address, prefixLen: r.prefixLen });
  }
  return out;
}

/** `10.8.0.5/32` (the first address; IPv4 first), for the "connected" line. */
export function primaryAddress(p: Params): string {
  const a = firstAddress(p, 4) ?? firstAddress(p, 6) ?? p.addresses[0];
  return a ? `${a.address}/${a.prefixLen}` : "?";
}

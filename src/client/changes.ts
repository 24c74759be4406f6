/**
 * @module client/changes
 * What changed between two sets of parameters, in words for the log:
 *   address changed: 10.8.0.5 -> 10.8.0.2
 *   IPv6 address added: fd00:8::5
 *   mtu changed: 1400 -> 1380
 *   routes changed: added 10.9.0.0/24; removed 10.7.0.0/24
 *   DNS servers changed: 1.1.1.1 -> 9.9.9.9
 * Addresses are shown without their prefix length unless that changed. Pure.
 */

import type { Params } from "../protocol/toyvpn.ts";
import { firstAddress, mtuOf } from "./params.ts";

type Prefix = { address: string; prefixLen: number };

const cidr = (p: Prefix): string => `${p.address}/${p.prefixLen}`;

/** One line for the first address of `family`, or null when it did not change. */
function addressChange(a: Params, b: Params, family: 4 | 6): string | null {
  const x = firstAddress(a, family);
  const y = firstAddress(b, family);
  const what = family === 4 ? "address" : "IPv6 address";
  if (x === undefined && y === undefined) return null;
  if (x === undefined) return `${what} added: ${y ? cidr(y) : ""}`;
  if (y === undefined) return `${what} removed: ${cidr(x)}`;
  if (x.address === y.address && x.prefixLen === y.prefixLen) return null;
  const show = x.prefixLen === y.prefixLen ? (p: Prefix) => p.address : cidr;
  return `${what} changed: ${show(x)} -> ${show(y)}`;
}

/** `added A, B; removed C`, or null when both lists hold the same entries. */
function listChange(a: string[], b: string[]): string | null {
  const added = b.filter((x) => !a.includes(x));
  const removed = a.filter((x) => !b.includes(x));
  const parts = [added.length > 0 ? `added ${added.join(", ")}` : "", removed.length > 0 ? `removed ${removed.join(", ")}` : ""];
  return added.length + removed.length > 0 ? parts.filter((p) => p !== "").join("; ") : null;
}

/** `1.1.1.1 -> 9.9.9.9` (`none` for an empty list), or null when equal. */
function valueChange(a: string[], b: string[]): string | null {
  const x = a.join(" ") || "none";
  const y = b.join(" ") || "none";
  return x === y ? null : `${x} -> ${y}`;
}

/** The changes from `a` to `b`, one line each (empty: nothing that matters changed). */
export function describeChanges(a: Params, b: Params): string[] {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const line = addressChange(a, b, family);
    if (line !== null) out.push(line);
  }
  if (mtuOf(a) !== mtuOf(b)) out.push(`mtu changed: ${mtuOf(a)} -> ${mtuOf(b)}`);
  const routes = listChange(a.routes.map(cidr), b.routes.map(cidr));
  if (routes !== null) out.push(`routes changed: ${routes}`);
  const dns = valueChange(a.dns, b.dns);
  if (dns !== null) out.push(`DNS servers changed: ${dns}`);
  const search = valueChange(a.searchDomains, b.searchDomains);
  if (search !== null) out.push(`search domains changed: ${search}`);
  return out;
}

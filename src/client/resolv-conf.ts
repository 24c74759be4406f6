/**
 * @module client/resolv-conf
 * What `--dns apply` writes into resolv.conf(5), and what to do with the file: which
 * pushed `d` (servers) and `s` (search domains) options are usable, the text of the file,
 * and the decisions of `client-dns.ts` (write, restore, leave alone). Pure: no I/O.
 *
 * Pushed options are wire input: a `d` field is used only if it is an IP literal and an
 * `s` field only if it is a domain name, so nothing the server sends can add a line of
 * its own (a field may hold a tab or a newline; see protocol/toyvpn.ts parseParams).
 */

import { familyOf } from "./params.ts";

/** resolv.conf(5): the resolver reads at most 3 `nameserver` lines (MAXNS). */
export const MAX_NAMESERVERS = 3;
/** resolv.conf(5): glibc before 2.26 takes at most 6 search domains (MAXDNSRCH) ... */
export const MAX_SEARCH_DOMAINS = 6;
/** ... and at most 256 characters of them. */
export const MAX_SEARCH_CHARS = 256;

/** Start of the first line of every file warren writes; how it recognizes its own text. */
export const HEADER_PREFIX = "# written by warren client (tun ";

const DOMAIN_RE = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?)*\.?$/;

/** The usable part of the pushed DNS options, and what was left out (one note each). */
export interface DnsPlan {
  servers: string[];
  search: string[];
  notes: string[];
}

/** Filters the pushed `d` and `s` fields: IP literals and domain names, duplicates and extras dropped. */
export function planDns(dns: readonly string[], searchDomains: readonly string[]): DnsPlan {
  const notes: string[] = [];
  const servers: string[] = [];
  for (const d of dns) {
    if (familyOf(d) === null) notes.push(`pushed DNS server ${JSON.stringify(d)} is not an IP address: ignored`);
    else if (!servers.includes(d)) servers.push(d);
  }
  if (servers.length > MAX_NAMESERVERS) {
    notes.push(`${servers.length} DNS servers pushed: resolv.conf takes ${MAX_NAMESERVERS}, ${servers.slice(MAX_NAMESERVERS).join(" ")} left out`);
    servers.length = MAX_NAMESERVERS;
  }
  const search: string[] = [];
  let chars = 0;
  for (const s of searchDomains) {
    if (!DOMAIN_RE.test(s)) {
      notes.push(`pushed search domain ${JSON.stringify(s)} is not a domain name: ignored`);
    } else if (!search.includes(s)) {
      if (search.length >= MAX_SEARCH_DOMAINS || chars + s.length + search.length > MAX_SEARCH_CHARS) {
        notes.push(`search domain ${s} left out (resolv.conf takes ${MAX_SEARCH_DOMAINS} domains, ${MAX_SEARCH_CHARS} characters)`);
      } else {
        search.push(s);
        chars += s.length;
      }
    }
  }
  if (servers.length === 0 && search.length > 0) notes.push("search domains pushed without a DNS server: resolv.conf left as it is");
  return { servers, search, notes };
}

/** The first line of the file written for TUN `tun`. */
export function headerLine(tun: string): string {
  return `${HEADER_PREFIX}${tun}); the original is restored when it stops`;
}

/** The resolv.conf text for `plan`, or null when there is no server to write (nothing to do). */
export function renderResolvConf(plan: DnsPlan, tun: string): string | null {
  if (plan.servers.length === 0) return null;
  const lines = [headerLine(tun), ...plan.servers.map((s) => `nameserver ${s}`)];
  if (plan.search.length > 0) lines.push(`search ${plan.search.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** What to do with new parameters: the text in force (null: the original) against the wanted one. */
export type DnsStep = "none" | "write" | "restore";

/** Decides the step: same text, nothing; new text, write; no DNS any more, put the original back. */
export function dnsStep(written: string | null, wanted: string | null): DnsStep {
  if (wanted === written) return "none";
  return wanted === null ? "restore" : "write";
}

/** What putting the original back means for the file as it is now. */
export type RestoreStep = "same" | "restore" | "foreign";

/**
 * `same`: it holds the original already; `restore`: it holds text warren wrote (for any
 * TUN), so the original goes back; `foreign`: another program rewrote it since, and its
 * text is left alone.
 */
export function restoreStep(current: Uint8Array, original: Uint8Array): RestoreStep {
  if (sameBytes(current, original)) return "same";
  return startsWithHeader(current) ? "restore" : "foreign";
}

/** Whether two byte strings are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function startsWithHeader(data: Uint8Array): boolean {
  if (data.length < HEADER_PREFIX.length) return false;
  for (let i = 0; i < HEADER_PREFIX.length; i++) if (data[i] !== HEADER_PREFIX.charCodeAt(i)) return false;
  return true;
}

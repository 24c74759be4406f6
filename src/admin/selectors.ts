/**
 * @module admin/selectors
 * Which session a `warren kick` / `warren capture` target names. Explicit forms say
 * which rule they mean:
 *
 *   id:NAME                 device id, or the label (`phone1`, `alice#3`)
 *   #N                      the session's serial number
 *   addr:ADDRESS            its tunnel address (IPv4 or IPv6)
 *   endpoint:HOST:PORT      its UDP endpoint (`endpoint:[2001:db8::1]:5555` for IPv6);
 *   endpoint:HOST           every session from that IP
 *
 * A bare target (`phone1`, `10.8.0.2`, `198.51.100.7:40001`) is tried against every
 * rule, and accepted only when all the rules it matches point at one and the same
 * session: a device id that looks like an address or `#N` can then never make a
 * command hit another client. Either way a selector must name exactly one session;
 * several only with `all` (`warren kick --all`), and only when one rule names them all.
 * Failures are ERR_NOT_FOUND, ERR_AMBIGUOUS (listing the matches and the explicit
 * forms) or ERR_BAD_SELECTOR.
 */

import { formatEndpoint, formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../protocol/ip.ts";
import type { Session } from "../server/session.ts";

/** The rules a selector can match by. */
export type SelectorRule = "id" | "serial" | "addr" | "endpoint";

/** The result of a selection. `multi`: one rule named several sessions (`--all` would take them). */
export type Selection =
  | { ok: true; sessions: Session[] }
  | { ok: false; code: "ERR_NOT_FOUND" | "ERR_AMBIGUOUS" | "ERR_BAD_SELECTOR"; error: string; multi: boolean };

/** How the explicit forms read, for messages. */
export const EXPLICIT_FORMS = "#N, id:NAME, addr:ADDRESS or endpoint:HOST[:PORT]";
const LISTED = 8;

/** An IP as one canonical text (IPv4-mapped IPv6 as IPv4), or null. */
function hostKey(text: string): string | null {
  const t = text.startsWith("::ffff:") && text.includes(".") ? text.slice(7) : text;
  const a4 = parseIpv4(t);
  if (a4 !== null) return formatIpv4(a4);
  const a6 = parseIpv6(t);
  return a6 === null ? null : formatIpv6(a6);
}

/** `HOST:PORT`, `[V6]:PORT`, `HOST` or `[V6]` -> host key and port (null = any); null if not an endpoint. */
function parseEndpoint(text: string): { host: string; port: number | null } | null {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  const hostText = m ? (m[1] as string) : text;
  const portText = m ? m[2] : undefined;
  const host = hostKey(hostText);
  if (host === null) return null;
  const port = portText === undefined ? null : Number(portText);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host, port };
}

function byId(sessions: Session[], name: string): Session[] {
  return sessions.filter((s) => s.label === name || s.deviceId === name);
}

function bySerial(sessions: Session[], text: string): Session[] | null {
  const m = /^#(\d{1,15})$/.exec(text);
  return m ? sessions.filter((s) => s.serial === Number(m[1])) : null;
}

function byAddr(sessions: Session[], text: string): Session[] | null {
  const a4 = parseIpv4(text);
  if (a4 !== null) return sessions.filter((s) => s.addr4 === a4);
  const a6 = parseIpv6(text);
  if (a6 === null) return null;
  const key = formatIpv6(a6);
  return sessions.filter((s) => s.addr6 !== null && formatIpv6(s.addr6) === key);
}

function byEndpoint(sessions: Session[], text: string): Session[] | null {
  const ep = parseEndpoint(text);
  if (ep === null) return null;
  return sessions.filter((s) => (ep.port === null || s.port === ep.port) && hostKey(s.address) === ep.host);
}

/** One match for a message: `#3 phone1 10.8.0.3 from 192.0.2.10:40001`. */
function describe(s: Session): string {
  const label = s.label === `#${s.serial}` ? "" : ` ${s.label}`;
  return `#${s.serial}${label} ${formatIpv4(s.addr4)} from ${formatEndpoint(s.address, s.port)}`;
}

function listed(hits: Array<[SelectorRule, Session]>): string {
  const shown = hits.slice(0, LISTED).map(([rule, s]) => `${describe(s)} (by ${rule})`);
  return `${shown.join("; ")}${hits.length > LISTED ? `; and ${hits.length - LISTED} more` : ""}`;
}

/** The sessions each rule finds for an explicit or bare target (null = the rule cannot read it). */
function matchRules(sessions: Session[], t: string): Array<[SelectorRule, Session[] | null]> | { bad: string } {
  const colon = t.indexOf(":");
  const prefix = colon > 0 ? t.slice(0, colon) : "";
  const rest = t.slice(colon + 1);
  switch (prefix) {
    case "id":
      return [["id", byId(sessions, rest)]];
    case "addr": {
      const hit = byAddr(sessions, rest);
      return hit === null ? { bad: `addr: expects a tunnel IPv4 or IPv6 address, got ${JSON.stringify(rest)}` } : [["addr", hit]];
    }
    case "endpoint": {
      const hit = byEndpoint(sessions, rest);
      return hit === null ? { bad: `endpoint: expects HOST, HOST:PORT or [IPV6]:PORT, got ${JSON.stringify(rest)}` } : [["endpoint", hit]];
    }
  }
  return [["id", byId(sessions, t)], ["serial", bySerial(sessions, t)], ["addr", byAddr(sessions, t)], ["endpoint", byEndpoint(sessions, t)]];
}

/** The sessions `target` names (see the module comment); several only with `all`. */
export function selectSessions(sessions: Session[], target: string, all = false): Selection {
  const t = target.trim();
  const rules = matchRules(sessions, t);
  if (!Array.isArray(rules)) return { ok: false, code: "ERR_BAD_SELECTOR", error: rules.bad, multi: false };
  const hits: Array<[SelectorRule, Session]> = [];
  for (const [rule, found] of rules) for (const s of found ?? []) hits.push([rule, s]);
  const distinct = [...new Set(hits.map(([, s]) => s))];
  if (distinct.length === 0) return { ok: false, code: "ERR_NOT_FOUND", error: `no client matches ${JSON.stringify(t)}`, multi: false };
  if (distinct.length === 1) return { ok: true, sessions: distinct };
  const oneRule = new Set(hits.map(([rule]) => rule)).size === 1;
  if (oneRule && all) return { ok: true, sessions: distinct };
  const what = oneRule ? `matches ${distinct.length} clients` : "is ambiguous";
  return {
    ok: false,
    code: "ERR_AMBIGUOUS",
    error: `${JSON.stringify(t)} ${what}: ${listed(hits)}; name one as ${EXPLICIT_FORMS}`,
    multi: oneRule,
  };
}

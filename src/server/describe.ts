/**
 * @module server/describe
 * How a session reads in the log: `device=phone1 endpoint=1.2.3.4:5555 address=10.8.0.2`
 * and its traffic `in=12pkt/3400B out=10pkt/2100B drops=spoofed:1`; and the same as
 * fields of a json log line (`session`, `device`, `user`, `protocol`, `endpoint`
 * {src,port}, `address`, `address6`; `rxPackets`, `rxBytes`, `txPackets`, `txBytes`,
 * `drops`, named as in the snapshot). Never a secret.
 */

import { type EventFields, type LogEvent, logEvent } from "../lib/log-event.ts";
import { formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import type { CloseReason, Session } from "./session.ts";

/** Who a session is, for log lines. */
export function describeSession(s: Session): string {
  const parts = [s.deviceId !== null ? `device=${s.deviceId}` : `session=${s.label}`];
  if (s.user !== null) parts.push(`user=${s.user}`);
  if (s.protocol !== "toyvpn") parts.push(`protocol=${s.protocol}`);
  parts.push(`endpoint=${formatEndpoint(s.address, s.port)}`, `address=${formatIpv4(s.addr4)}`);
  if (s.addr6) parts.push(`address6=${formatIpv6(s.addr6)}`);
  return parts.join(" ");
}

/** A session's counters, for its closing log line. */
export function describeTraffic(s: Session): string {
  const drops = Object.entries(s.drops)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}:${n}`)
    .join(",");
  return `in=${s.rxPackets}pkt/${s.rxBytes}B out=${s.txPackets}pkt/${s.txBytes}B${drops ? ` drops=${drops}` : ""}`;
}

/** A UDP endpoint as a field: `{ src, port }`, an IPv4-mapped address shown as IPv4. */
export function endpointField(address: string, port: number): { src: string; port: number } {
  const text = formatEndpoint(address, 0);
  return { src: text.slice(0, -2).replace(/^\[(.*)\]$/, "$1"), port };
}

/** Who a session is, as fields. */
export function sessionFields(s: Session): EventFields {
  return {
    session: s.label,
    device: s.deviceId,
    user: s.user,
    protocol: s.protocol,
    endpoint: endpointField(s.address, s.port),
    address: formatIpv4(s.addr4),
    address6: s.addr6 ? formatIpv6(s.addr6) : undefined,
  };
}

/** A session's counters, as fields. */
export function trafficFields(s: Session): EventFields {
  const drops: Record<string, number> = {};
  for (const [k, n] of Object.entries(s.drops)) if (n > 0) drops[k] = n;
  return { rxPackets: s.rxPackets, rxBytes: s.rxBytes, txPackets: s.txPackets, txBytes: s.txBytes, drops };
}

/** The `session up ...` line as an event. */
export function sessionUpEvent(s: Session): LogEvent {
  return logEvent("session-up", sessionFields(s), `session up ${describeSession(s)}`);
}

/** The `session down ... reason=R in=... out=...` line as an event; `now` on the session's clock. */
export function sessionDownEvent(s: Session, reason: CloseReason, now: number): LogEvent {
  const fields = { ...sessionFields(s), reason, durationSec: Math.max(0, Math.round((now - s.createdAt) / 1000)), ...trafficFields(s) };
  return logEvent("session-down", fields, `session down ${describeSession(s)} reason=${reason} ${describeTraffic(s)}`);
}

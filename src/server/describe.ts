/**
 * @module server/describe
 * How a session reads in the log: `device=phone1 endpoint=1.2.3.4:5555 address=10.8.0.2`
 * and its traffic `in=12pkt/3400B out=10pkt/2100B drops=spoofed:1`. Never a secret.
 */

import { formatEndpoint, formatIpv4, formatIpv6 } from "../protocol/ip.ts";
import type { Session } from "./session.ts";

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

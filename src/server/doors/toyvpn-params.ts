/**
 * @module server/doors/toyvpn-params
 * The ToyVpn parameter datagram of each client: the pushed settings (server/push.ts)
 * plus the client's own addresses, encoded as `m,1400 a,10.8.0.2,32 r,0.0.0.0,0 ...`
 * in a 1024-byte control datagram. Everything but the addresses is encoded once, and
 * checked once at start with the longest address a client can have, so a handshake
 * can never fail for want of room.
 */

/** The longest IPv4 and IPv6 address texts. */
const LONGEST4 = "255.255.255.255";
const LONGEST6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";

import { ConfigError } from "../../lib/errors.ts";
import { type Cidr, formatCidr, formatIpv4, formatIpv6 } from "../../protocol/ip.ts";
import { buildParamsDatagram, encodeParams, formatParams, PARAMS_DATAGRAM_SIZE, type Params } from "../../protocol/toyvpn.ts";
import { pushedRoutes, type PushSettings } from "../push.ts";

/** Builds parameter datagrams for one server's settings. */
export class ToyParams {
  /** The parameter text with `<client>` (and `<client6>`) in place of the addresses, for the summary. */
  readonly template: string;
  readonly #base: Params;
  readonly #ipv6: boolean;

  /**
   * `pool6`: the IPv6 pool, when clients get IPv6 addresses too. Throws a ConfigError
   * when the parameters could exceed the datagram for some client.
   */
  constructor(push: PushSettings, pool6: Cidr | null) {
    this.#ipv6 = pool6 !== null;
    this.#base = {
      mtu: push.mtu,
      addresses: [],
      routes: pushedRoutes(push.routes, pool6).map((r) => {
        const [address, prefixLen] = formatCidr(r).split("/") as [string, string];
        return { address, prefixLen: Number(prefixLen) };
      }),
      dns: [...push.dns],
      searchDomains: [...push.searchDomains],
    };
    const worst = formatParams(this.#withAddresses(LONGEST4, this.#ipv6 ? LONGEST6 : null)).length;
    const room = PARAMS_DATAGRAM_SIZE - 1;
    if (worst > room) {
      throw new ConfigError("routes", `the pushed parameters need up to ${worst} bytes for the longest client address, but ${room} fit in a ToyVpn datagram (${worst - room} over): push fewer routes, DNS servers or search domains`);
    }
    this.template = formatParams(this.#withAddresses("<client>", this.#ipv6 ? "<client6>" : null));
  }

  /** The 1024-byte datagram for a client with these addresses. Throws when the text would not fit. */
  datagram(addr4: number, addr6: Uint8Array | null): Uint8Array {
    return buildParamsDatagram(this.#encode(formatIpv4(addr4), addr6 ? formatIpv6(addr6) : null));
  }

  #encode(a4: string, a6: string | null): string {
    return encodeParams(this.#withAddresses(a4, a6));
  }

  #withAddresses(a4: string, a6: string | null): Params {
    const addresses = [{ address: a4, prefixLen: 32 }];
    if (a6 !== null) addresses.push({ address: a6, prefixLen: 128 });
    return { ...this.#base, addresses };
  }
}

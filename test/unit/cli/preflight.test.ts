/**
 * @module preflight.test
 * The start checks of src/cli/preflight.ts on made-up host interfaces: a pool that
 * holds another interface's address is refused naming it (IPv4 and IPv6), a pool
 * inside another interface's subnet is a warning, the server's own TUN is skipped.
 */
import { describe, expect, test } from "bun:test";
import type { NetworkInterfaceInfo } from "node:os";
import { checkPools, type HostInterfaces, poolClashes } from "../../../src/cli/preflight.ts";
import { ConfigError } from "../../../src/lib/errors.ts";
import { parseCidr } from "../../../src/protocol/ip.ts";

function addr(address: string, prefix: number): NetworkInterfaceInfo {
  const v6 = address.includes(":");
  return v6
    ? { address, netmask: "", family: "IPv6", mac: "00:00:00:00:00:00", internal: false, cidr: `${address}/${prefix}`, scopeid: 0 }
    : { address, netmask: "", family: "IPv4", mac: "00:00:00:00:00:00", internal: false, cidr: `${address}/${prefix}` };
}

const HOST: HostInterfaces = {
  lo: [addr("127.0.0.1", 8), addr("::1", 128)],
  eth0: [addr("192.0.2.2", 24), addr("fe80::1%eth0", 64), addr("2001:db8:1::2", 64)],
  eth1: [addr("10.0.0.5", 8)],
  warren0: [addr("10.8.0.1", 24)],
};

const cidr = (t: string) => {
  const c = parseCidr(t);
  if (c === null) throw new Error(t);
  return c;
};
const names = (given: Record<string, string> = {}) => ({ label: (k: string) => `--${k}`, given: (k: string) => given[k] });

describe("poolClashes", () => {
  test("an address inside the pool, a subnet around it, the own TUN skipped", () => {
    expect(poolClashes(cidr("192.0.2.0/25"), HOST, "warren0")).toEqual([{ iface: "eth0", cidr: "192.0.2.2/24", inside: true }]);
    expect(poolClashes(cidr("10.8.0.0/24"), HOST, "warren0")).toEqual([{ iface: "eth1", cidr: "10.0.0.5/8", inside: false }]);
    expect(poolClashes(cidr("10.8.0.0/24"), HOST, "other0")).toEqual([
      { iface: "eth1", cidr: "10.0.0.5/8", inside: false },
      { iface: "warren0", cidr: "10.8.0.1/24", inside: true },
    ]);
    expect(poolClashes(cidr("172.16.0.0/24"), HOST, "warren0")).toEqual([]);
    expect(poolClashes(cidr("2001:db8:1::/64"), HOST, "warren0")).toEqual([{ iface: "eth0", cidr: "2001:db8:1::2/64", inside: true }]);
    expect(poolClashes(cidr("fd00:8::/64"), HOST, "warren0")).toEqual([]);
  });
});

describe("checkPools", () => {
  test("refuses a pool holding another interface's address, naming the interface", () => {
    let err: unknown;
    try {
      checkPools({ pool: cidr("192.0.2.0/24"), tun: "warren0" }, HOST, names({ pool: "192.0.2.0/24" }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe("pool");
    expect((err as Error).message).toBe('--pool: overlaps 192.0.2.2/24 on interface eth0; pick a free range (got "192.0.2.0/24")');
    expect(() => checkPools({ pool: cidr("10.9.0.0/24"), pool6: cidr("2001:db8:1::/64"), tun: "w" }, HOST, names())).toThrow(
      '--pool6: overlaps 2001:db8:1::2/64 on interface eth0; pick a free range (got "2001:db8:1::/64")',
    );
  });

  test("warns when a pool lies inside another interface's subnet; nothing for a free one", () => {
    expect(checkPools({ pool: cidr("10.8.0.0/24"), tun: "warren0" }, HOST, names())).toEqual([
      "--pool: 10.8.0.0/24 lies inside 10.0.0.5/8 on eth1: hosts of 10.8.0.0/24 there are unreachable from this server",
    ]);
    expect(checkPools({ pool: cidr("172.16.0.0/24"), pool6: cidr("fd00:8::/64"), tun: "warren0" }, HOST, names())).toEqual([]);
  });
});

/**
 * The managed-NAT rules as text: nft table script, accept "holes" for foreign drop-policy
 * chains, parsing of `nft -j` output (captured from nft 1.0.6), and iptables command lists.
 */
import { describe, expect, test } from "bun:test";
import {
  allowOf, clampMss, dropForwardChains, iptablesAddCommands, iptablesChainRefs, iptablesChains, isIptablesForward, type NatPlan,
  nftDeleteTaggedScript, nftHoleScript, nftTableName, nftTableScript, ruleComment,
} from "../../../src/platform/linux/nat-rules.ts";

const V4: NatPlan = { tun: "warren0", mtu: 1400, pool4: "10.8.0.0/24", out4: "eth0", pool6: null, out6: null, allow: [] };
const V46: NatPlan = { ...V4, pool6: "fd00:8::/64", out6: "eth1" };

/** `nft -j list chains` in a namespace with iptables-nft FORWARD DROP, a native drop chain and warren's table. */
const CHAINS_JSON = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
 {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "hostfw", "name": "filter_fwd", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "hostfw", "name": "inp", "handle": 2, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
 {"chain": {"family": "inet", "table": "warren_wn0", "name": "forward", "handle": 1, "type": "filter", "hook": "forward", "prio": -150, "policy": "drop"}},
 {"chain": {"family": "ip6", "table": "filter", "name": "FORWARD", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}},
 {"chain": {"family": "bridge", "table": "br", "name": "fwd", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}]}`;

/** `nft -a -j list ruleset` with one rule of this TUN and one of another warren. */
const RULES_JSON = `{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
 {"table": {"family": "inet", "name": "hostfw", "handle": 2}},
 {"chain": {"family": "inet", "table": "hostfw", "name": "filter_fwd", "handle": 1, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}},
 {"rule": {"family": "inet", "table": "hostfw", "chain": "filter_fwd", "handle": 4, "comment": "warren:other", "expr": [{"accept": null}]}},
 {"rule": {"family": "inet", "table": "hostfw", "chain": "filter_fwd", "handle": 3, "comment": "warren:wn0", "expr": [{"accept": null}]}},
 {"rule": {"family": "inet", "table": "hostfw", "chain": "filter_fwd", "handle": 5, "expr": [{"accept": null}]}}]}`;

describe("names and numbers", () => {
  test("MSS is the tunnel MTU minus the IPv4 (40) or IPv6 (60) + TCP headers", () => {
    expect(clampMss(1400, 4)).toBe(1360);
    expect(clampMss(1400, 6)).toBe(1340);
  });

  test("names derive from the TUN; nft names keep only safe characters; iptables names fit 28 bytes", () => {
    expect(nftTableName("warren0")).toBe("warren_warren0");
    expect(nftTableName("vpn.1-a:b")).toBe("warren_vpn_1_a_b");
    expect(ruleComment("wn0")).toBe("warren:wn0");
    expect(iptablesChains("abcdefghijklmno")).toEqual({ fwd: "WARREN-FWD-abcdefghijklmno", nat: "WARREN-NAT-abcdefghijklmno" });
    expect(iptablesChains("abcdefghijklmno").fwd.length).toBeLessThanOrEqual(28);
    expect(iptablesChainRefs("wn0")).toEqual([
      { table: "filter", chain: "WARREN-FWD-wn0", from: "FORWARD" },
      { table: "nat", chain: "WARREN-NAT-wn0", from: "POSTROUTING" },
    ]);
  });
});

describe("nft", () => {
  test("IPv4 only: the table is replaced atomically, masquerade out of the named interface, MSS both ways, forwarding limited", () => {
    expect(nftTableScript(V4)).toBe(`table inet warren_warren0
delete table inet warren_warren0
table inet warren_warren0 {
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\toifname "eth0" ip saddr 10.8.0.0/24 masquerade
\t}
\tchain forward {
\t\ttype filter hook forward priority mangle; policy accept;
\t\tiifname "warren0" meta nfproto ipv4 tcp flags & (syn | rst) == syn tcp option maxseg size > 1360 tcp option maxseg size set 1360
\t\toifname "warren0" meta nfproto ipv4 tcp flags & (syn | rst) == syn tcp option maxseg size > 1360 tcp option maxseg size set 1360
\t\tiifname "warren0" ip saddr 10.8.0.0/24 jump pool_out4
\t}
\tchain pool_out4 {
\t\tct state established,related return
\t\toifname { "eth0", "warren0" } return
\t\tdrop
\t}
}
`);
  });

  test("forwarding limit: the pools leave only to their out interface, the TUN, or --nat-allow prefixes of their family", () => {
    const s = nftTableScript({ ...V46, allow: ["10.99.0.0/24", "fd00:99::/64", "172.17.0.0/16"] });
    expect(s).toContain('\t\tiifname "warren0" ip6 saddr fd00:8::/64 jump pool_out6\n');
    expect(s).toContain(`\tchain pool_out4 {
\t\tct state established,related return
\t\toifname { "eth0", "warren0" } return
\t\tip daddr 10.99.0.0/24 return
\t\tip daddr 172.17.0.0/16 return
\t\tdrop
\t}
\tchain pool_out6 {
\t\tct state established,related return
\t\toifname { "eth1", "warren0" } return
\t\tip6 daddr fd00:99::/64 return
\t\tdrop
\t}
`);
    expect(allowOf({ ...V4, allow: ["10.99.0.0/24", "fd00:99::/64"] }, 6)).toEqual(["fd00:99::/64"]);
  });

  test("IPv6 pool: NAT66 out of its own interface and an IPv6 clamp", () => {
    const s = nftTableScript(V46);
    expect(s).toContain('oifname "eth1" ip6 saddr fd00:8::/64 masquerade');
    expect(s).toContain('iifname "warren0" meta nfproto ipv6 tcp flags & (syn | rst) == syn tcp option maxseg size > 1340 tcp option maxseg size set 1340');
    expect(s.match(/maxseg size set/g)?.length).toBe(4);
  });

  test("holes: tagged accepts from the TUN to the out interface, the TUN and allowed prefixes; replies to it; per family", () => {
    expect(nftHoleScript({ ...V46, allow: ["10.99.0.0/24"] }, { family: "inet", table: "hostfw", chain: "filter_fwd" })).toBe(
      'insert rule inet hostfw filter_fwd oifname "warren0" ip daddr 10.8.0.0/24 ct state established,related accept comment "warren:warren0"\n' +
        'insert rule inet hostfw filter_fwd iifname "warren0" ip saddr 10.8.0.0/24 oifname { "eth0", "warren0" } accept comment "warren:warren0"\n' +
        'insert rule inet hostfw filter_fwd iifname "warren0" ip saddr 10.8.0.0/24 ip daddr 10.99.0.0/24 accept comment "warren:warren0"\n' +
        'insert rule inet hostfw filter_fwd oifname "warren0" ip6 daddr fd00:8::/64 ct state established,related accept comment "warren:warren0"\n' +
        'insert rule inet hostfw filter_fwd iifname "warren0" ip6 saddr fd00:8::/64 oifname { "eth1", "warren0" } accept comment "warren:warren0"\n',
    );
    expect(nftHoleScript(V46, { family: "ip", table: "t", chain: "c" }).split("\n").filter(Boolean)).toHaveLength(2);
    expect(nftHoleScript(V46, { family: "ip6", table: "t", chain: "c" })).toContain("ip6 saddr fd00:8::/64");
    expect(nftHoleScript(V4, { family: "ip6", table: "t", chain: "c" })).toBe("");
  });

  test("drop-policy forward chains of other tables are found; own table, input, accept and bridge are not", () => {
    const chains = dropForwardChains(CHAINS_JSON, "warren_wn0");
    expect(chains).toEqual([
      { family: "ip", table: "filter", chain: "FORWARD" },
      { family: "inet", table: "hostfw", chain: "filter_fwd" },
    ]);
    expect(chains.map(isIptablesForward)).toEqual([true, false]);
    expect(dropForwardChains("not json", "x")).toEqual([]);
    expect(dropForwardChains('{"nftables": 3}', "x")).toEqual([]);
  });

  test("removal deletes exactly the rules tagged for this TUN, by handle", () => {
    expect(nftDeleteTaggedScript(RULES_JSON, "warren:wn0")).toBe("delete rule inet hostfw filter_fwd handle 3\n");
    expect(nftDeleteTaggedScript(RULES_JSON, "warren:none")).toBe("");
  });
});

describe("iptables", () => {
  test("own chains: MSS clamp, accepts, jump at the top of FORWARD; MASQUERADE chain jumped from POSTROUTING", () => {
    expect(iptablesAddCommands(V4, 4, { mss: true, nat: true })).toEqual([
      ["-t", "filter", "-N", "WARREN-FWD-warren0"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-i", "warren0", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-m", "tcpmss", "--mss", "1361:65535", "-j", "TCPMSS", "--set-mss", "1360"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-o", "warren0", "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-m", "tcpmss", "--mss", "1361:65535", "-j", "TCPMSS", "--set-mss", "1360"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-i", "warren0", "-s", "10.8.0.0/24", "-o", "eth0", "-j", "ACCEPT"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-i", "warren0", "-s", "10.8.0.0/24", "-o", "warren0", "-j", "ACCEPT"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-i", "warren0", "-s", "10.8.0.0/24", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-i", "warren0", "-s", "10.8.0.0/24", "-j", "DROP"],
      ["-t", "filter", "-A", "WARREN-FWD-warren0", "-o", "warren0", "-d", "10.8.0.0/24", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
      ["-t", "filter", "-I", "FORWARD", "1", "-j", "WARREN-FWD-warren0"],
      ["-t", "nat", "-N", "WARREN-NAT-warren0"],
      ["-t", "nat", "-A", "WARREN-NAT-warren0", "-s", "10.8.0.0/24", "-o", "eth0", "-j", "MASQUERADE"],
      ["-t", "nat", "-I", "POSTROUTING", "1", "-j", "WARREN-NAT-warren0"],
    ]);
  });

  test("IPv6 uses the IPv6 pool, its interface and MSS; no IPv6 pool, no commands", () => {
    const v6 = iptablesAddCommands(V46, 6, { mss: true, nat: true });
    expect(v6).toContainEqual(["-t", "nat", "-A", "WARREN-NAT-warren0", "-s", "fd00:8::/64", "-o", "eth1", "-j", "MASQUERADE"]);
    expect(v6.flat()).toContain("1340");
    expect(iptablesAddCommands(V4, 6, { mss: true, nat: true })).toEqual([]);
  });

  test("a hole only (nft does NAT and MSS): the limited accepts, --nat-allow of the family, and the jump", () => {
    const cmds = iptablesAddCommands({ ...V4, allow: ["10.99.0.0/24", "fd00:99::/64"] }, 4, { mss: false, nat: false });
    expect(cmds.map((c) => c.join(" "))).toEqual([
      "-t filter -N WARREN-FWD-warren0",
      "-t filter -A WARREN-FWD-warren0 -i warren0 -s 10.8.0.0/24 -o eth0 -j ACCEPT",
      "-t filter -A WARREN-FWD-warren0 -i warren0 -s 10.8.0.0/24 -o warren0 -j ACCEPT",
      "-t filter -A WARREN-FWD-warren0 -i warren0 -s 10.8.0.0/24 -d 10.99.0.0/24 -j ACCEPT",
      "-t filter -A WARREN-FWD-warren0 -i warren0 -s 10.8.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-t filter -A WARREN-FWD-warren0 -i warren0 -s 10.8.0.0/24 -j DROP",
      "-t filter -A WARREN-FWD-warren0 -o warren0 -d 10.8.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-t filter -I FORWARD 1 -j WARREN-FWD-warren0",
    ]);
  });
});

/**
 * @module platform/linux/nat-rules
 * The firewall rules of managed NAT, as text and argv lists. Pure: no I/O, so tests
 * compare the exact rules. `nat.ts` runs them.
 *
 * What warren adds, and how each piece is found again for exact removal:
 * - nft: one table `inet warren_<tun>` (masquerade, MSS clamping, the forwarding limit),
 *   removed with one `delete table`; plus, in other tables' forward chains whose policy is
 *   drop, accept rules tagged with the comment `warren:<tun>`, removed by handle.
 * - iptables/ip6tables: chains `WARREN-FWD-<tun>` (filter: MSS clamping, the forwarding
 *   limit and accepts, jumped to from the top of FORWARD) and `WARREN-NAT-<tun>` (nat:
 *   MASQUERADE, jumped to from the top of POSTROUTING); removal deletes the jumps,
 *   flushes, deletes the chains.
 *
 * The forwarding limit: a packet from a pool that the kernel forwards may leave only
 * through the NAT out interface of its family, back into the TUN (client to client), or
 * towards a `--nat-allow` prefix; anything else is dropped, whatever the host's FORWARD
 * policy, so clients never reach the host's other networks (management LANs, container
 * bridges). Packets of a connection conntrack already knows (ESTABLISHED, RELATED: one an
 * internal host opened to a client, if the host firewall let it) are left to the host's
 * own rules. Accept rules ("holes") in drop-policy chains open exactly the allowed paths.
 *
 * MSS clamping: forwarded SYNs into or out of the TUN carrying an MSS above
 * mtu - 40 (IPv4) / mtu - 60 (IPv6) are lowered to that value, so peers never send
 * segments that do not fit the tunnel (no reliance on ICMP "packet too big").
 */

/** Bytes of IPv4 + TCP headers without options. */
const TCP4_OVERHEAD = 40;
/** Bytes of IPv6 + TCP headers without options. */
const TCP6_OVERHEAD = 60;

/** Everything the rules depend on. Interface names and prefixes are validated before. */
export interface NatPlan {
  /** TUN interface name. */
  tun: string;
  /** Tunnel MTU. */
  mtu: number;
  /** IPv4 pool, e.g. `10.8.0.0/24`. */
  pool4: string;
  /** IPv4 masquerade goes out of this interface. */
  out4: string;
  /** IPv6 pool and its out interface, when the server has one. */
  pool6: string | null;
  out6: string | null;
  /** Other destinations (CIDR text, either family) the pools may be forwarded to (`--nat-allow`). */
  allow: readonly string[];
}

/** An address family as the firewall tools see it. */
export type Family = 4 | 6;

/** The MSS clamped to on `family` for a tunnel of `mtu` bytes. */
export function clampMss(mtu: number, family: Family): number {
  return mtu - (family === 4 ? TCP4_OVERHEAD : TCP6_OVERHEAD);
}

/** Comment tagging the rules warren inserts into chains it does not own. */
export function ruleComment(tun: string): string {
  return `warren:${tun}`;
}

/** The `--nat-allow` prefixes of one family. */
export function allowOf(plan: NatPlan, family: Family): string[] {
  return plan.allow.filter((c) => c.includes(":") === (family === 6));
}

/** The pool and out interface of one family, or null when the plan has no such pool. */
function side(plan: NatPlan, family: Family): { pool: string; out: string } | null {
  const pool = family === 4 ? plan.pool4 : plan.pool6;
  const out = family === 4 ? plan.out4 : plan.out6;
  return pool === null || out === null ? null : { pool, out };
}

/** Name of warren's own nft table (family inet) for this TUN. */
export function nftTableName(tun: string): string {
  return `warren_${tun.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

// ---------------------------------------------------------------------------------------
// nft

/** The nft script that (re)creates warren's table atomically: a leftover of the same name is replaced. */
export function nftTableScript(plan: NatPlan): string {
  const t = nftTableName(plan.tun);
  const tun = JSON.stringify(plan.tun);
  const nat = [`oifname ${JSON.stringify(plan.out4)} ip saddr ${plan.pool4} masquerade`];
  const mss: string[] = [];
  const clamp = (fam: Family) => {
    const m = clampMss(plan.mtu, fam);
    const proto = fam === 4 ? "ipv4" : "ipv6";
    for (const dir of ["iifname", "oifname"]) {
      mss.push(`${dir} ${tun} meta nfproto ${proto} tcp flags & (syn | rst) == syn tcp option maxseg size > ${m} tcp option maxseg size set ${m}`);
    }
  };
  clamp(4);
  if (plan.pool6 !== null && plan.out6 !== null) {
    nat.push(`oifname ${JSON.stringify(plan.out6)} ip6 saddr ${plan.pool6} masquerade`);
    clamp(6);
  }
  const limits = ([4, 6] as const).map((f) => nftLimitChain(plan, f));
  return [
    `table inet ${t}`,
    `delete table inet ${t}`,
    `table inet ${t} {`,
    "\tchain postrouting {",
    "\t\ttype nat hook postrouting priority srcnat; policy accept;",
    ...nat.map((r) => `\t\t${r}`),
    "\t}",
    "\tchain forward {",
    "\t\ttype filter hook forward priority mangle; policy accept;",
    ...mss.map((r) => `\t\t${r}`),
    ...limits.flatMap((l) => (l ? [`\t\t${l.jump}`] : [])),
    "\t}",
    ...limits.flatMap((l) => (l ? [`\tchain ${l.name} {`, ...l.rules.map((r) => `\t\t${r}`), "\t}"] : [])),
    "}",
    "",
  ].join("\n");
}

/** The forwarding limit of one family (see the module comment): a jump from the forward chain and its chain. */
function nftLimitChain(plan: NatPlan, family: Family): { name: string; jump: string; rules: string[] } | null {
  const s = side(plan, family);
  if (s === null) return null;
  const ip = family === 4 ? "ip" : "ip6";
  const name = `pool_out${family}`;
  return {
    name,
    jump: `iifname ${JSON.stringify(plan.tun)} ${ip} saddr ${s.pool} jump ${name}`,
    rules: [
      "ct state established,related return",
      `oifname { ${JSON.stringify(s.out)}, ${JSON.stringify(plan.tun)} } return`,
      ...allowOf(plan, family).map((c) => `${ip} daddr ${c} return`),
      "drop",
    ],
  };
}

/** A base chain of another table, as `nft -j list chains` describes it. */
export interface ForeignChain {
  family: "ip" | "ip6" | "inet";
  table: string;
  chain: string;
}

/**
 * Accept rules inserted at the top of `c` (a forward chain with policy drop), tagged with the
 * comment: replies into the TUN, and the pools' allowed paths out (see the module comment).
 */
export function nftHoleScript(plan: NatPlan, c: ForeignChain): string {
  const tun = JSON.stringify(plan.tun);
  const comment = JSON.stringify(ruleComment(plan.tun));
  const lines: string[] = [];
  const add = (family: Family) => {
    const s = side(plan, family);
    if (s === null) return;
    const ip = family === 4 ? "ip" : "ip6";
    const from = `insert rule ${c.family} ${c.table} ${c.chain} iifname ${tun} ${ip} saddr ${s.pool}`;
    lines.push(`insert rule ${c.family} ${c.table} ${c.chain} oifname ${tun} ${ip} daddr ${s.pool} ct state established,related accept comment ${comment}`);
    lines.push(`${from} oifname { ${JSON.stringify(s.out)}, ${tun} } accept comment ${comment}`);
    for (const cidr of allowOf(plan, family)) lines.push(`${from} ${ip} daddr ${cidr} accept comment ${comment}`);
  };
  if (c.family !== "ip6") add(4);
  if (c.family !== "ip") add(6);
  return lines.length ? `${lines.join("\n")}\n` : "";
}

/** One entry of `nft -j` output, loosely typed (validated field by field). */
type NftItem = Record<string, Record<string, unknown> | undefined>;

function nftItems(json: string): NftItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return [];
  }
  const list = (doc as { nftables?: unknown } | null)?.nftables;
  return Array.isArray(list) ? (list.filter((x) => x !== null && typeof x === "object") as NftItem[]) : [];
}

const FAMILIES = new Set(["ip", "ip6", "inet"]);

/** Forward base chains with policy drop in tables other than `ownTable`, from `nft -j list chains`. */
export function dropForwardChains(json: string, ownTable: string): ForeignChain[] {
  const out: ForeignChain[] = [];
  for (const item of nftItems(json)) {
    const c = item.chain;
    if (!c || c.hook !== "forward" || c.policy !== "drop" || c.table === ownTable) continue;
    if (typeof c.family !== "string" || !FAMILIES.has(c.family) || typeof c.table !== "string" || typeof c.name !== "string") continue;
    out.push({ family: c.family as ForeignChain["family"], table: c.table, chain: c.name });
  }
  return out;
}

/** True for the FORWARD chain iptables-nft manages (better changed with iptables, which must keep parsing it). */
export function isIptablesForward(c: ForeignChain): boolean {
  return c.family !== "inet" && c.table === "filter" && c.chain === "FORWARD";
}

/** `delete rule` lines for every rule tagged `comment`, from `nft -a -j list ruleset`. */
export function nftDeleteTaggedScript(json: string, comment: string): string {
  const lines: string[] = [];
  for (const item of nftItems(json)) {
    const r = item.rule;
    if (!r || r.comment !== comment || typeof r.handle !== "number") continue;
    lines.push(`delete rule ${String(r.family)} ${String(r.table)} ${String(r.chain)} handle ${r.handle}`);
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

// ---------------------------------------------------------------------------------------
// iptables

/** warren's own iptables chain names for this TUN (at most 26 characters). */
export function iptablesChains(tun: string): { fwd: string; nat: string } {
  return { fwd: `WARREN-FWD-${tun}`, nat: `WARREN-NAT-${tun}` };
}

/** What to put in the iptables chains of one family. */
export interface IptablesParts {
  /** MSS clamping rules in the FWD chain (off when nft does the clamping). */
  mss: boolean;
  /** The NAT chain with MASQUERADE (off when nft does the NAT). */
  nat: boolean;
}

/** The commands (arguments after `iptables -w 5`) that add warren's chains for `family`, in order. */
export function iptablesAddCommands(plan: NatPlan, family: Family, parts: IptablesParts): string[][] {
  const s = side(plan, family);
  if (s === null) return [];
  const { pool, out } = s;
  const { fwd, nat } = iptablesChains(plan.tun);
  const cmds: string[][] = [["-t", "filter", "-N", fwd]];
  if (parts.mss) {
    const m = clampMss(plan.mtu, family);
    for (const dir of ["-i", "-o"]) {
      cmds.push(["-t", "filter", "-A", fwd, dir, plan.tun, "-p", "tcp", "--tcp-flags", "SYN,RST", "SYN", "-m", "tcpmss", "--mss", `${m + 1}:65535`, "-j", "TCPMSS", "--set-mss", String(m)]);
    }
  }
  const from = ["-t", "filter", "-A", fwd, "-i", plan.tun, "-s", pool];
  cmds.push([...from, "-o", out, "-j", "ACCEPT"]);
  cmds.push([...from, "-o", plan.tun, "-j", "ACCEPT"]);
  for (const cidr of allowOf(plan, family)) cmds.push([...from, "-d", cidr, "-j", "ACCEPT"]);
  cmds.push([...from, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"]);
  cmds.push([...from, "-j", "DROP"]);
  cmds.push(["-t", "filter", "-A", fwd, "-o", plan.tun, "-d", pool, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]);
  cmds.push(["-t", "filter", "-I", "FORWARD", "1", "-j", fwd]);
  if (parts.nat) {
    cmds.push(["-t", "nat", "-N", nat]);
    cmds.push(["-t", "nat", "-A", nat, "-s", pool, "-o", out, "-j", "MASQUERADE"]);
    cmds.push(["-t", "nat", "-I", "POSTROUTING", "1", "-j", nat]);
  }
  return cmds;
}

/** How to remove one of warren's iptables chains: where it is jumped to from. */
export interface IptablesChainRef {
  table: "filter" | "nat";
  chain: string;
  /** The built-in chain holding the jump. */
  from: "FORWARD" | "POSTROUTING";
}

/** warren's chains for this TUN, in removal order. */
export function iptablesChainRefs(tun: string): IptablesChainRef[] {
  const { fwd, nat } = iptablesChains(tun);
  return [
    { table: "filter", chain: fwd, from: "FORWARD" },
    { table: "nat", chain: nat, from: "POSTROUTING" },
  ];
}

/** config/wg-peers, wg-peers-file, wg-key-file, wg-schema: the peers file read, written and kept intact. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { loadOrCreateKeyFile, readKeyFile } from "../../../src/config/wg-key-file.ts";
import { appendSection, editPeersFile, readPeersFile, removeSection, renderPeerSection, STALE_LOCK_MS } from "../../../src/config/wg-peers-file.ts";
import { diffPeers, parsePeers } from "../../../src/config/wg-peers.ts";
import { DEFAULT_WG_KEY_FILE, parseEndpoint, WgSectionSchema, wgKeyFile } from "../../../src/config/wg-schema.ts";
import { generatePresharedKey, generatePrivateKey, keyFromBase64, keyToBase64, publicKey } from "../../../src/crypto/x25519.ts";
import { WarrenError } from "../../../src/lib/errors.ts";
import { formatCidr, parseCidr } from "../../../src/protocol/ip.ts";

const key = (): string => keyToBase64(publicKey(generatePrivateKey()));
const K1 = key();
const K2 = key();
const K3 = key();
const PSK = keyToBase64(generatePresharedKey());

/** A wg-quick server config as an operator would have it: [Interface], comments, odd spacing and case. */
const WG_QUICK = `# /etc/wireguard/wg0.conf on the old server
[Interface]
Address = 10.8.0.1/24
ListenPort = 51820
PrivateKey = ${keyToBase64(generatePrivateKey())}
PostUp = iptables -A FORWARD -i %i -j ACCEPT

; Alice's phone
[Peer]
# Name = alice-phone
PublicKey = ${K1}
PresharedKey = ${PSK}
AllowedIPs = 10.8.0.2/32, fd00:8::2/128

[peer]
#name=bob
publickey=${K2}
AllowedIPs = 10.8.0.3   # bare address = host route
allowedips = fd00:8::3
PersistentKeepalive = 25
`;

describe("parsePeers", () => {
  test("reads the [Peer] sections of a wg-quick server config and skips [Interface] with a note", () => {
    const r = parsePeers(WG_QUICK, "wg0.conf");
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual(["wg0.conf:2: [Interface] ignored: the server's key is wg.keyFile, its address comes from the pool"]);
    expect(r.peers.map((p) => [p.name, keyToBase64(p.publicKey), p.presharedKey && keyToBase64(p.presharedKey), p.allowedIps.map(formatCidr), p.persistentKeepalive, p.line])).toEqual([
      ["alice-phone", K1, PSK, ["10.8.0.2/32", "fd00:8::2/128"], null, 9],
      ["bob", K2, null, ["10.8.0.3/32", "fd00:8::3/128"], 25, 15],
    ]);
  });

  test("CRLF line endings, keepalive off, a peer without a name", () => {
    const r = parsePeers(`[Peer]\r\nPublicKey = ${K1}\r\nAllowedIPs = 10.8.0.9/32\r\nPersistentKeepalive = off\r\n`, "f");
    expect(r.errors).toEqual([]);
    expect(r.peers[0]).toMatchObject({ name: null, persistentKeepalive: null, line: 1 });
  });

  test("each mistake is one line naming file:line", () => {
    const cases: [string, string][] = [
      [`[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.8.0.2/32\nFoo = 1\n`, 'f:4: unknown key "Foo" in [Peer] (expected PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive)'],
      [`[Peer]\nName = x\nPublicKey = ${K1}\nAllowedIPs = 10.8.0.2/32\n`, 'f:2: unknown key "Name" in [Peer] (write the name as a comment: # Name = x)'],
      [`[Peer]\nAllowedIPs = 10.8.0.2/32\n`, "f:1: [Peer] has no PublicKey"],
      [`[Peer]\n# Name = p\nPublicKey = ${K1}\n`, "f:1: [Peer] p has no AllowedIPs: it needs its tunnel address"],
      [`[Peer]\nPublicKey = abc\nAllowedIPs = 10.8.0.2/32\n`, 'f:2: PublicKey: expected a key as wg genkey prints it (44 characters of base64 for 32 bytes) (got "abc")'],
      [`[Peer]\nPublicKey = ${K1}\nPublicKey = ${K2}\nAllowedIPs = 10.8.0.2/32\n`, "f:3: PublicKey given twice in the [Peer] of line 1 (first on line 2)"],
      [`[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.8.0.9/32, 10.8.0.2/33\n`, 'f:3: AllowedIPs: expected an address or prefix like 10.8.0.2/32 or fd00:8::2/128 (got "10.8.0.2/33")'],
      [`[Peer]\nPublicKey = ${K1}\nAllowedIPs = 10.8.0.2/32\nPersistentKeepalive = 70000\n`, 'f:4: PersistentKeepalive: expected seconds from 0 to 65535 or off (got "70000")'],
      [`PublicKey = ${K1}\n`, "f:1: PublicKey outside a section: put it under [Peer]"],
      [`[Peers]\n`, "f:1: unknown section [Peers]: expected [Peer] or [Interface]"],
      [`[Peer]\nPublicKey = ${K1}\nAllowedIPs 10.8.0.3/32\nAllowedIPs = 10.8.0.2/32\n`, `f:3: expected "Key = Value", a [Peer] header or a comment (got "AllowedIPs 10.8.0.3/32")`],
      [`[Peer]\n# Name = two words\nPublicKey = ${K1}\nAllowedIPs = 10.8.0.2/32\n`, `f:2: Name: expected a peer name of 1-64 letters, digits, '.', '_', '-' or '@' (got "two words")`],
    ];
    for (const [text, error] of cases) expect(parsePeers(text, "f").errors).toEqual([error]);
  });

  test("duplicate keys, duplicate names and overlapping addresses between peers are refused", () => {
    const sec = (name: string, k: string, ips: string) => `[Peer]\n# Name = ${name}\nPublicKey = ${k}\nAllowedIPs = ${ips}\n\n`;
    expect(parsePeers(sec("a", K1, "10.8.0.2/32") + sec("b", K1, "10.8.0.3/32"), "f").errors).toEqual([`f:6: PublicKey ${K1} is also the peer of line 1`]);
    expect(parsePeers(sec("a", K1, "10.8.0.2/32") + sec("a", K2, "10.8.0.3/32"), "f").errors).toEqual(["f:6: name a is also the peer of line 1"]);
    expect(parsePeers(sec("a", K1, "10.8.0.2/32") + sec("b", K2, "10.8.0.2"), "f").errors).toEqual(["f:6: AllowedIPs 10.8.0.2/32 overlaps 10.8.0.2/32 of the peer of line 1"]);
    // a wide prefix swallowing an earlier host
    const wide = parsePeers(sec("a", K1, "10.8.0.5/32") + sec("b", K2, "10.8.0.0/24") + sec("c", K3, "fd00::1/128, fd00::/64"), "f");
    expect(wide.errors).toEqual(["f:6: AllowedIPs 10.8.0.0/24 overlaps 10.8.0.5/32 of the peer of line 1"]); // c's own two prefixes may overlap
    expect(wide.notes).toContain("f:6: AllowedIPs 10.8.0.0/24 of b is wider than one address: warren routes all of it to that peer");
    // the same address twice in one peer is not an overlap; IPv4 and IPv6 never collide
    expect(parsePeers(sec("a", K1, "10.8.0.2/32, 10.8.0.2") + sec("b", K2, "::/0"), "f").errors).toEqual([]);
    // one line per pair of peers, however many of their prefixes collide
    expect(parsePeers(sec("a", K1, "10.8.0.2/32, 10.8.0.3/32") + sec("b", K2, "0.0.0.0/0"), "f").errors).toEqual(["f:6: AllowedIPs 0.0.0.0/0 overlaps 10.8.0.2/32 of the peer of line 1"]);
  });

  test("Endpoint is accepted and ignored with a note", () => {
    const r = parsePeers(`[Peer]\nPublicKey = ${K1}\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 10.8.0.2/32\n`, "f");
    expect(r.errors).toEqual([]);
    expect(r.notes).toEqual(["f:3: Endpoint ignored: warren learns each peer's endpoint from its handshakes"]);
  });
});

describe("writing sections", () => {
  const peer = (name: string, k: string, ip: string) => ({ name, publicKey: keyFromBase64(k) as Uint8Array, presharedKey: keyFromBase64(PSK), allowedIps: [parseCidr(ip)!], persistentKeepalive: null });

  test("a rendered section parses back to the same peer", () => {
    const text = renderPeerSection({ ...peer("carol", K3, "10.8.0.4/32"), persistentKeepalive: 15 });
    expect(text).toBe(`[Peer]\n# Name = carol\nPublicKey = ${K3}\nPresharedKey = ${PSK}\nAllowedIPs = 10.8.0.4/32\nPersistentKeepalive = 15\n`);
    const [p] = parsePeers(text, "f").peers;
    expect(p && [p.name, keyToBase64(p.publicKey), p.allowedIps.map(formatCidr), p.persistentKeepalive]).toEqual(["carol", K3, ["10.8.0.4/32"], 15]);
  });

  test("append keeps every existing byte, and removing the new peer gives the original back", () => {
    const section = renderPeerSection(peer("carol", K3, "10.8.0.4/32"));
    const grown = appendSection(WG_QUICK, section);
    expect(grown.startsWith(WG_QUICK)).toBe(true);
    expect(grown.slice(WG_QUICK.length)).toBe(`\n${section}`);
    expect(parsePeers(grown, "f").peers.map((p) => p.name)).toEqual(["alice-phone", "bob", "carol"]);
    expect(removeSection(grown, "carol", "f")?.text).toBe(WG_QUICK);
    // no final newline, CRLF file: separator and section follow the file's line ending
    expect(appendSection("# x", "[Peer]\n")).toBe("# x\n\n[Peer]\n");
    expect(appendSection("# x\r\n", renderPeerSection(peer("d", K3, "10.8.0.9/32"), "\r\n"))).toMatch(/^# x\r\n\r\n\[Peer\]\r\n# Name = d\r\n/);
    expect(appendSection("", "[Peer]\n")).toBe("[Peer]\n");
  });

  test("removing a middle peer takes its section only; comments outside it stay", () => {
    const r = removeSection(WG_QUICK, "alice-phone", "f");
    expect(r?.line).toBe(9);
    const aliceStart = WG_QUICK.indexOf("[Peer]\n# Name = alice-phone");
    const bobStart = WG_QUICK.indexOf("[peer]");
    expect(r?.text).toBe(WG_QUICK.slice(0, aliceStart) + WG_QUICK.slice(bobStart));
    expect(r?.text).toContain("; Alice's phone\n"); // the comment above the header is not part of the section
    // by public key, and a miss
    expect(removeSection(WG_QUICK, K2, "f")?.text).toBe(WG_QUICK.slice(0, bobStart).replace(/\n+$/, "\n"));
    expect(removeSection(WG_QUICK, "nobody", "f")).toBeNull();
  });
});

describe("peers file on disk", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "warren-wgpeers-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("editPeersFile replaces atomically with mode 0600 and leaves no temp file", () => {
    const f = join(dir, "peers.conf");
    writeFileSync(f, WG_QUICK, { mode: 0o644 });
    const out = editPeersFile(f, (old) => appendSection(old, "[Peer]\n"));
    expect(readFileSync(f, "utf8")).toBe(out);
    expect(out.startsWith(WG_QUICK)).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dir, ".peers.conf.tmp"))).toBe(false);
  });

  test("a held lock refuses a second writer; a stale one is taken over", () => {
    const f = join(dir, "peers.conf");
    writeFileSync(f, WG_QUICK);
    const lock = join(dir, ".peers.conf.tmp");
    writeFileSync(lock, "half");
    let err: unknown;
    try {
      editPeersFile(f, () => "lost");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WarrenError);
    expect((err as WarrenError).code).toBe("ERR_BUSY");
    expect(readFileSync(f, "utf8")).toBe(WG_QUICK);
    const old = (Date.now() - STALE_LOCK_MS - 5000) / 1000;
    utimesSync(lock, old, old);
    editPeersFile(f, () => "new\n");
    expect(readFileSync(f, "utf8")).toBe("new\n");
  });

  test("an edit that throws writes nothing and releases the lock", () => {
    const f = join(dir, "peers.conf");
    writeFileSync(f, WG_QUICK);
    expect(() =>
      editPeersFile(f, () => {
        throw new WarrenError("ERR_X", "no");
      }),
    ).toThrow("no");
    expect(readFileSync(f, "utf8")).toBe(WG_QUICK);
    expect(existsSync(join(dir, ".peers.conf.tmp"))).toBe(false);
  });

  test("a symlinked peers file is changed through the link", () => {
    const real = join(dir, "real.conf");
    const link = join(dir, "link.conf");
    writeFileSync(real, "# a\n");
    symlinkSync(real, link);
    editPeersFile(link, (old) => `${old}# b\n`);
    expect(readFileSync(real, "utf8")).toBe("# a\n# b\n");
  });

  test("readPeersFile: missing file, broken file", () => {
    const f = join(dir, "none.conf");
    expect(readPeersFile(f, true).parse.peers).toEqual([]);
    expect(() => readPeersFile(f, false)).toThrow(`cannot read peers file ${f}: ENOENT`);
    writeFileSync(f, "[Peer]\nFoo = 1\nBar = 2\n");
    expect(() => readPeersFile(f, true)).toThrow(`${f}:2: unknown key "Foo"`);
  });

  test("key file: created 0600 once, read back; junk refused", () => {
    const f = join(dir, "sub", "wg.key");
    const a = loadOrCreateKeyFile(f);
    expect(a.created).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f, "utf8")).toBe(`${keyToBase64(a.privateKey)}\n`);
    const b = loadOrCreateKeyFile(f);
    expect([b.created, keyToBase64(b.privateKey)]).toEqual([false, keyToBase64(a.privateKey)]);
    writeFileSync(f, "nope\n", { mode: 0o644 });
    expect(() => readKeyFile(f)).toThrow("does not hold a WireGuard private key");
    writeFileSync(f, `${keyToBase64(a.privateKey)}\n`);
    chmodSync(f, 0o644);
    expect(readKeyFile(f).readableByOthers).toBe(true);
  });
});

describe("wg config section", () => {
  const schema = WgSectionSchema;
  test("off by default with default paths; flags' strings accepted", () => {
    expect(v.parse(schema, {})).toEqual({ peers: "/etc/warren/wg-peers.conf" });
    // the key defaults into the state directory, which the systemd unit lets the server write
    expect(wgKeyFile({ stateDir: "/var/lib/warren", wg: {} })).toBe(DEFAULT_WG_KEY_FILE);
    expect(DEFAULT_WG_KEY_FILE).toBe("/var/lib/warren/wg.key");
    expect(wgKeyFile({ stateDir: "/srv/w", wg: {} })).toBe("/srv/w/wg.key");
    expect(wgKeyFile({ stateDir: "/srv/w", wg: { keyFile: "/etc/k" } })).toBe("/etc/k");
    expect(v.parse(schema, { listen: "[::]:51820", endpoint: "vpn.example.com" })).toMatchObject({ listen: { host: "::", port: 51820 }, endpoint: { host: "vpn.example.com", port: null } });
    expect(v.safeParse(schema, { listen: "51820" }).success).toBe(false);
    expect(v.safeParse(schema, { peer: "x" }).issues?.[0]?.message).toBe('unknown setting "peer"');
  });
  test("endpoints", () => {
    expect(parseEndpoint("vpn.example.com:443")).toEqual({ host: "vpn.example.com", port: 443 });
    expect(parseEndpoint("[2001:db8::1]:51820")).toEqual({ host: "2001:db8::1", port: 51820 });
    expect(parseEndpoint("2001:db8::1")).toEqual({ host: "2001:db8::1", port: null });
    expect(parseEndpoint("203.0.113.9")).toEqual({ host: "203.0.113.9", port: null });
    for (const bad of ["vpn.example.com:0", "vpn.example.com:70000", "a b", "[vpn]:1", "x:y:z", ""]) expect(parseEndpoint(bad)).toBeNull();
  });
});

describe("diffPeers", () => {
  test("added, removed, and changed peers by public key; only key material or addresses end a session", () => {
    const sec = (name: string, k: string, ips: string, extra = "") => `[Peer]\n# Name = ${name}\nPublicKey = ${k}\nAllowedIPs = ${ips}\n${extra}\n`;
    const before = parsePeers(sec("a", K1, "10.8.0.2") + sec("b", K2, "10.8.0.3") + sec("c", K3, "10.8.0.4"), "f").peers;
    const K4 = key();
    const after = parsePeers(sec("a2", K1, "10.8.0.2", "PersistentKeepalive = 25\n") + sec("b", K2, "10.8.0.9") + sec("d", K4, "10.8.0.5"), "f").peers;
    const d = diffPeers(before, after);
    expect(d.added.map((p) => p.name)).toEqual(["d"]);
    expect(d.removed.map((p) => p.name)).toEqual(["c"]);
    expect(d.changed.map((c) => [c.before.name, c.after.name, c.endSession])).toEqual([
      ["a", "a2", false],
      ["b", "b", true],
    ]);
    expect(diffPeers(before, before)).toEqual({ added: [], removed: [], changed: [] });
    const withPsk = parsePeers(sec("a", K1, "10.8.0.2", `PresharedKey = ${PSK}\n`), "f").peers;
    expect(diffPeers(before.slice(0, 1), withPsk).changed[0]?.endSession).toBe(true);
  });
});

/** cli/wg: key commands as wg prints them, add/remove/show on files and a fake control socket, the QR code. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeQR } from "qr";
import decodeQR from "qr/decode.js";
import { parsePeers } from "../../../src/config/wg-peers.ts";
import { keyFromBase64, keyToBase64, publicKey } from "../../../src/crypto/x25519.ts";
import { ConfigError, WarrenError } from "../../../src/lib/errors.ts";
import { formatCidr } from "../../../src/protocol/ip.ts";
import type { WgInfo, WgRequest, WgShow } from "../../../src/admin/wg-control.ts";
import { runWg, type WgIo } from "../../../src/cli/wg.ts";
import { QR_QUIET_ZONE } from "../../../src/cli/wg-qr.ts";

interface Run {
  code: number | null;
  out: string;
  err: string;
  error: unknown;
  requests: string[];
}

type Answer = (req: WgRequest) => unknown;

/** Runs `warren wg ARGV` with fake io; `server` answers control requests (absent = no server). */
async function wg(argv: string[], opts: { stdin?: string; server?: Record<string, Answer>; now?: number } = {}): Promise<Run> {
  const r: Run = { code: null, out: "", err: "", error: null, requests: [] };
  const io: WgIo = {
    stdin: async () => opts.stdin ?? "",
    out: (s) => void (r.out += s),
    err: (s) => void (r.err += s),
    now: () => opts.now ?? Date.now(),
    control: async (req) => {
      r.requests.push(req.cmd);
      const answer = opts.server?.[req.cmd];
      if (!opts.server) throw new WarrenError("ERR_NO_SERVER", "no warren server is running");
      if (!answer) throw new WarrenError("ERR_BAD_REQUEST", `unknown command ${req.cmd}`);
      return answer(req);
    },
  };
  try {
    r.code = await runWg(argv, io, {});
  } catch (e) {
    r.error = e;
  }
  return r;
}

/** A wg-quick config -> sections of [key, value] pairs. */
function sections(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const line of text.split("\n")) {
    if (/^\[.*\]$/.test(line)) out.push({ section: line });
    const m = /^(\w+) = (.*)$/.exec(line);
    if (m) (out[out.length - 1] as Record<string, string>)[m[1] as string] = m[2] as string;
  }
  return out;
}

/** RFC 7748 §6.1: Alice's private and public key. */
const ALICE_PRIV = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex").toString("base64");
const ALICE_PUB = Buffer.from("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "hex").toString("base64");

describe("genkey, pubkey, genpsk", () => {
  test("genkey prints a clamped key in wg's format; pubkey derives its public key", async () => {
    const a = await wg(["genkey"]);
    const b = await wg(["genkey"]);
    expect(a.out).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(a.out).not.toBe(b.out);
    const k = keyFromBase64(a.out.trim()) as Uint8Array;
    expect([(k[0] as number) & 7, (k[31] as number) & 0xc0]).toEqual([0, 0x40]);
    const p = await wg(["pubkey"], { stdin: a.out });
    expect(p.out).toBe(`${keyToBase64(publicKey(k))}\n`);
  });

  test("pubkey: RFC 7748 vector, surrounding whitespace ignored", async () => {
    expect((await wg(["pubkey"], { stdin: `  ${ALICE_PRIV}\r\n\n` })).out).toBe(`${ALICE_PUB}\n`);
  });

  test("pubkey: a bad key is a usage error (exit 2) saying wg pubkey", async () => {
    for (const bad of ["", "junk", ALICE_PRIV.slice(0, 43), `${ALICE_PRIV}x`]) {
      const r = await wg(["pubkey"], { stdin: bad });
      expect(r.error).toBeInstanceOf(ConfigError);
      expect((r.error as Error).message).toStartWith("wg pubkey: ");
      expect(r.out).toBe("");
    }
  });

  test("genpsk: 32 random bytes", async () => {
    const a = await wg(["genpsk"]);
    expect(keyFromBase64(a.out.trim())?.length).toBe(32);
    expect(a.out).not.toBe((await wg(["genpsk"])).out);
  });

  test("help, unknown commands, stray options and arguments", async () => {
    expect((await wg(["--help"])).out).toContain("warren wg add phone-1 --qr");
    expect((await wg([])).code).toBe(0);
    expect(((await wg(["frob"])).error as Error).message).toBe('unknown wg command "frob"; see warren wg --help');
    expect(((await wg(["genkey", "--qr"])).error as Error).message).toBe("wg genkey: option --qr does not apply");
    expect(((await wg(["show", "--key-file", "k"])).error as Error).message).toBe("wg show: option --key-file does not apply");
    expect(((await wg(["genkey", "x"])).error as Error).message).toBe('wg genkey: unexpected argument "x"');
  });
});

describe("add, remove, show", () => {
  let dir = "";
  let peers = "";
  let keyFile = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "warren-wgcli-"));
    peers = join(dir, "peers.conf");
    keyFile = join(dir, "wg.key");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const offline = (name: string, ...extra: string[]) => ["add", name, "--peers", peers, "--key-file", keyFile, "--endpoint", "vpn.example.com:51820", ...extra];

  test("without a server: key file created, peer appended, client config matches the file", async () => {
    const r = await wg(offline("phone-1", "--pool6", "fd00:8::/64", "--dns", "9.9.9.9", "--mtu", "1380"));
    expect(r.code).toBe(0);
    expect(r.requests).toEqual(["wg-info"]);
    expect(r.err).toContain(`created the server's key file ${keyFile}`);
    expect(r.err).toContain("added peer phone-1 (10.8.0.2/32, fd00:8::2/128)");
    const [iface, server] = sections(r.out);
    expect(iface).toMatchObject({ section: "[Interface]", Address: "10.8.0.2/32, fd00:8::2/128", DNS: "9.9.9.9", MTU: "1380" });
    expect(server).toMatchObject({ section: "[Peer]", Endpoint: "vpn.example.com:51820", AllowedIPs: "0.0.0.0/0", PersistentKeepalive: "25" });
    const serverPub = keyToBase64(publicKey(keyFromBase64(readFileSync(keyFile, "utf8").trim()) as Uint8Array));
    expect(server?.PublicKey).toBe(serverPub);
    const file = parsePeers(readFileSync(peers, "utf8"), peers);
    expect(file.errors).toEqual([]);
    const [p] = file.peers;
    expect(p?.name).toBe("phone-1");
    expect(keyToBase64(p?.publicKey as Uint8Array)).toBe(keyToBase64(publicKey(keyFromBase64(iface?.PrivateKey ?? "") as Uint8Array)));
    expect(keyToBase64(p?.presharedKey as Uint8Array)).toBe(server?.PresharedKey as string);
    expect(p?.allowedIps.map(formatCidr).join(", ")).toBe(iface?.Address as string);
    expect(readFileSync(peers, "utf8")).not.toContain(iface?.PrivateKey as string); // the client's secret is not kept
  });

  test("next free address skips taken ones; --address picks one; mistakes refused and the file untouched", async () => {
    writeFileSync(peers, `[Peer]\n# Name = old\nPublicKey = ${ALICE_PUB}\nAllowedIPs = 10.8.0.2/32, 10.8.0.4\n`);
    expect(sections((await wg(offline("a"))).out)[0]?.Address).toBe("10.8.0.3/32");
    expect(sections((await wg(offline("b"))).out)[0]?.Address).toBe("10.8.0.5/32");
    expect(sections((await wg(offline("c", "--address", "10.8.0.200"))).out)[0]?.Address).toBe("10.8.0.200/32");
    const before = readFileSync(peers, "utf8");
    const refused: [string[], string][] = [
      [offline("a"), `a peer named a is already in ${peers}; warren wg remove a first`],
      [offline("d", "--address", "10.8.0.4"), "--address 10.8.0.4 is taken by another peer or a connected client"],
      [offline("d", "--address", "10.8.0.1"), "--address 10.8.0.1 is not a client address of the pool 10.8.0.0/24 (10.8.0.2-10.8.0.254)"],
      [offline("d", "--address", "10.9.0.1"), "--address 10.9.0.1 is not a client address of the pool 10.8.0.0/24 (10.8.0.2-10.8.0.254)"],
      [offline("d", "--address", "10.8.0.0/28"), "--address 10.8.0.0/28: give one address (a /32), not a prefix"],
      [offline("d", "--address", "fd00::5"), "--address fd00::5 is outside the IPv6 pool (the server has none)"],
      [offline("bad name"), `NAME: expected a peer name of 1-64 letters, digits, '.', '_', '-' or '@' (got "bad name")`],
      [["add", "d", "--peers", peers, "--key-file", keyFile], "--endpoint HOST[:PORT] is required while the server is not running (it is the name or address clients dial)"],
      [offline("d", "--mtu", "99"), "--mtu: expected an integer from 576 to "],
    ];
    for (const [argv, message] of refused) {
      const r = await wg(argv);
      expect(r.error).toBeInstanceOf(ConfigError);
      expect((r.error as Error).message).toStartWith(message);
    }
    expect(readFileSync(peers, "utf8")).toBe(before);
  });

  test("a full pool says so", async () => {
    const r = await wg(offline("x", "--pool", "10.8.0.0/30"));
    expect(r.code).toBe(0);
    expect(((await wg(offline("y", "--pool", "10.8.0.0/30"))).error as Error).message).toBe("the pool 10.8.0.0/30 has no free address left; remove a peer or widen the pool");
  });

  const info = (over: Partial<WgInfo> = {}): WgInfo => ({
    publicKey: ALICE_PUB,
    listenPort: 51999,
    endpoint: "vpn.example.net",
    peersFile: peers,
    pool: "10.9.0.0/24",
    pool6: "fd00:9::/64",
    dns: ["10.9.0.1"],
    searchDomains: ["corp.example"],
    mtu: 1420,
    routes: ["10.0.0.0/8", "fd00::/8"],
    inUse: ["10.9.0.2", "fd00:9:0:0::3"],
    ...over,
  });

  test("with a server: its settings win, addresses in use are skipped, wg-sync sees the new peer", async () => {
    let fileAtSync = "";
    const r = await wg(["add", "phone"], {
      server: {
        "wg-info": () => info(),
        "wg-sync": () => {
          fileAtSync = readFileSync(peers, "utf8");
          return { added: [{ publicKey: "x", name: "phone" }], removed: [], changed: [] };
        },
      },
    });
    expect(r.code).toBe(0);
    expect(r.requests).toEqual(["wg-info", "wg-sync"]);
    expect(r.err).toContain("the running server applied it");
    expect(fileAtSync).toContain("# Name = phone");
    const [iface, server] = sections(r.out);
    // 10.9.0.2 is leased; 10.9.0.3's IPv6 pair fd00:9::3 is leased too
    expect(iface).toMatchObject({ Address: "10.9.0.4/32, fd00:9::4/128", DNS: "10.9.0.1, corp.example", MTU: "1420" });
    expect(server).toMatchObject({ PublicKey: ALICE_PUB, Endpoint: "vpn.example.net:51999", AllowedIPs: "10.0.0.0/8, fd00::/8" });
    // flags override what the client is told, but not where the server reads peers
    const o = await wg(["add", "tablet", "--dns", "1.0.0.1", "--endpoint", "[2001:db8::7]:443", "--route", "0.0.0.0/0"], { server: { "wg-info": () => info(), "wg-sync": () => ({ added: [], removed: [], changed: [] }) } });
    expect(sections(o.out)[0]).toMatchObject({ DNS: "1.0.0.1" });
    expect(sections(o.out)[1]).toMatchObject({ Endpoint: "[2001:db8::7]:443", AllowedIPs: "0.0.0.0/0" });
    const m = await wg(["add", "x", "--peers", join(dir, "other.conf")], { server: { "wg-info": () => info() } });
    expect((m.error as Error).message).toBe(`--peers ${join(dir, "other.conf")} differs from the running server's peers file ${peers}`);
  });

  test("a refused wg-sync takes the peer out again, byte for byte", async () => {
    writeFileSync(peers, "# mine\n[Peer]\nPublicKey = " + ALICE_PUB + "\nAllowedIPs = 10.9.0.9/32\n");
    const before = readFileSync(peers, "utf8");
    const calls: string[] = [];
    const r = await wg(["add", "phone"], {
      server: {
        "wg-info": () => info(),
        "wg-sync": () => {
          calls.push(readFileSync(peers, "utf8"));
          if (calls.length === 1) throw new WarrenError("ERR_CONFIG", "address clash");
          return { added: [], removed: [], changed: [] };
        },
      },
    });
    expect(r.error).toBeInstanceOf(WarrenError);
    expect((r.error as WarrenError).code).toBe("ERR_SYNC");
    expect((r.error as Error).message).toBe(`the running server refused the new peer, so ${peers} is unchanged: address clash`);
    expect(r.out).toBe(""); // no config for a peer that does not exist
    expect(calls[0]).toContain("# Name = phone");
    expect(readFileSync(peers, "utf8")).toBe(before);
  });

  test("remove: by name or public key, tells the server; a missing peer is an error", async () => {
    await wg(offline("a"));
    await wg(offline("b"));
    const withA = readFileSync(peers, "utf8");
    const r = await wg(["remove", "b", "--peers", peers], { server: { "wg-info": () => info(), "wg-sync": () => ({ added: [], removed: [{ publicKey: "k", name: "b" }], changed: [] }) } });
    expect(r.requests).toEqual(["wg-info", "wg-sync"]);
    expect(r.err).toBe(`removed peer b from ${peers}; the running server dropped it and ended its session\n`);
    expect(parsePeers(readFileSync(peers, "utf8"), peers).peers.map((p) => p.name)).toEqual(["a"]);
    expect(withA.startsWith(readFileSync(peers, "utf8"))).toBe(true);
    const aKey = keyToBase64(parsePeers(readFileSync(peers, "utf8"), peers).peers[0]?.publicKey as Uint8Array);
    expect((await wg(["remove", aKey, "--peers", peers])).err).toContain("no server is running");
    expect(parsePeers(readFileSync(peers, "utf8"), peers).peers).toEqual([]);
    expect(((await wg(["remove", "zz", "--peers", peers])).error as Error).message).toBe(`no peer named zz in ${peers}; warren wg show lists them`);
  });

  test("show: live like wg show (latest handshake first), or the file when no server runs", async () => {
    const now = 1_767_000_000;
    const live: WgShow = {
      interface: "warren0",
      publicKey: ALICE_PUB,
      listenPort: 51820,
      peers: [
        { publicKey: "P1", name: null, presharedKey: false, endpoint: null, allowedIps: ["10.8.0.3/32"], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: null },
        { publicKey: "P2", name: "phone-1", presharedKey: true, endpoint: "203.0.113.5:41000", allowedIps: ["10.8.0.2/32", "fd00:8::2/128"], latestHandshake: now - 65, rxBytes: 1229, txBytes: 3_565_158, persistentKeepalive: 25 },
      ],
    };
    const r = await wg(["show"], { server: { "wg-show": () => live }, now: now * 1000 });
    expect(r.out).toBe(
      `interface: warren0\n  public key: ${ALICE_PUB}\n  private key: (hidden)\n  listening port: 51820\n\n` +
        "peer: P2\n  name: phone-1\n  preshared key: (hidden)\n  endpoint: 203.0.113.5:41000\n  allowed ips: 10.8.0.2/32, fd00:8::2/128\n" +
        "  latest handshake: 1 minute, 5 seconds ago\n  transfer: 1.20 KiB received, 3.40 MiB sent\n  persistent keepalive: every 25 seconds\n\n" +
        "peer: P1\n  allowed ips: 10.8.0.3/32\n",
    );
    await wg(offline("a"));
    const off = await wg(["show", "--peers", peers]);
    expect(off.out).toStartWith(`peers file: ${peers}\n  (no server running`);
    expect(off.out).toContain("  name: a\n  preshared key: (hidden)\n  allowed ips: 10.8.0.2/32\n");
    expect((await wg(["show", "--peers", join(dir, "none.conf")])).out).toBe(`peers file: ${join(dir, "none.conf")}\n  (no server running: no endpoints, handshakes or transfer)\n`);
  });
});

describe("--qr", () => {
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "warren-wgqr-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Terminal half-block text -> RGBA image (light = white), 4 pixels per module. */
  function image(text: string): { width: number; height: number; data: Uint8Array; rows: number; cols: number } {
    const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => l.length > 0);
    const cols = [...(lines[0] ?? "")].length;
    const rows = lines.length * 2;
    const scale = 4;
    const data = new Uint8Array(cols * scale * rows * scale * 4);
    lines.forEach((line, ly) => {
      [...line].forEach((ch, x) => {
        const light = [ch === "█" || ch === "▀", ch === "█" || ch === "▄"];
        for (let half = 0; half < 2; half++) {
          for (let dy = 0; dy < scale; dy++) {
            for (let dx = 0; dx < scale; dx++) {
              const i = (((ly * 2 + half) * scale + dy) * cols * scale + x * scale + dx) * 4;
              data.fill(light[half] ? 255 : 0, i, i + 3);
              data[i + 3] = 255;
            }
          }
        }
      });
    });
    return { width: cols * scale, height: rows * scale, data, rows, cols };
  }

  test("the QR code decodes back to the same client config; its size matches its version", async () => {
    const base = ["add", "phone", "--peers", join(dir, "p.conf"), "--key-file", join(dir, "k"), "--endpoint", "vpn.example.com:51820", "--pool6", "fd00:8::/64", "--route", "0.0.0.0/0", "--route", "::/0"];
    const plain = await wg([...base]);
    const qr = await wg([...base.slice(0, 1), "tablet", ...base.slice(2), "--qr"]);
    expect(qr.code).toBe(0);
    expect(qr.out).toContain("\x1b[40;97m"); // explicit colours: light modules drawn white on black
    const img = image(qr.out);
    const decoded = decodeQR(img);
    // same shape as the plain config, with the tablet's own keys and address
    expect(sections(decoded).map((s) => Object.keys(s))).toEqual(sections(plain.out).map((s) => Object.keys(s)));
    expect(sections(decoded)[0]?.Address).toBe("10.8.0.3/32, fd00:8::3/128");
    const peer = parsePeers(readFileSync(join(dir, "p.conf"), "utf8"), "p").peers.find((p) => p.name === "tablet");
    expect(keyToBase64(peer?.publicKey as Uint8Array)).toBe(keyToBase64(publicKey(keyFromBase64(sections(decoded)[0]?.PrivateKey ?? "") as Uint8Array)));
    // the symbol is 4v+17 modules plus the quiet zone, and another encoder picks the same version for this text
    const size = img.cols - 2 * QR_QUIET_ZONE;
    expect(Number.isInteger((size - 17) / 4)).toBe(true);
    expect(encodeQR(decoded, "raw", { ecc: "low", border: 1 }).length - 2).toBe(size);
    expect(decoded.length).toBeGreaterThan(271); // more than version 10-L holds in byte mode
    expect((size - 17) / 4).toBeGreaterThanOrEqual(11);
    expect(img.rows).toBe(img.cols + 1); // the odd last half-row is terminal background
  });
});

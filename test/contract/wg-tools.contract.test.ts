/**
 * warren's WireGuard files against wireguard-tools' own parsers (Debian's `wg` and `wg-quick`):
 *   - keys: `wg pubkey` and `warren wg pubkey` agree both ways;
 *   - a generated client config goes through `wg-quick strip` (wg-quick's parser) and then
 *     `wg setconf` (wg's C parser, config.c);
 *   - a peers file, and a wg-quick server config with a peer appended by warren, do too.
 * `wg setconf` needs an interface. With no kernel module (or to stay out of every network
 * namespace) the test plays a userspace implementation: wg sends the parsed config as UAPI
 * text to /run/wireguard/<name>.sock, which the test listens on and checks. The socket is
 * named `wtw<pid>` and removed afterwards; no interface, address or route is created.
 * Skips loudly without wireguard-tools (apt-get install -y wireguard-tools) or without root
 * (wg-quick re-executes itself through sudo, and /run/wireguard belongs to root).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWg, type WgIo } from "../../src/cli/wg.ts";
import { parsePeers } from "../../src/config/wg-peers.ts";
import { keyFromBase64, keyToBase64, publicKey } from "../../src/crypto/x25519.ts";
import { formatCidr } from "../../src/protocol/ip.ts";

const WG = Bun.which("wg");
const WG_QUICK = Bun.which("wg-quick");
const noTools = WG && WG_QUICK ? null : "wireguard-tools is not installed (apt-get install -y wireguard-tools)";
const noRoot = noTools ?? (process.getuid?.() === 0 ? null : "needs root: wg-quick runs itself through sudo and /run/wireguard belongs to root");
if (noTools) console.warn(`wg-tools contract: SKIPPED: ${noTools}`);
else if (noRoot) console.warn(`wg-tools contract: wg-quick strip / wg setconf SKIPPED: ${noRoot}`);

const IFACE = `wtw${process.pid}`.slice(0, 15);
const SOCK_DIR = "/run/wireguard";
const SOCK = join(SOCK_DIR, `${IFACE}.sock`);

async function run(cmd: string[], stdin = ""): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn(cmd, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out, err };
}

async function warren(argv: string[], stdin = ""): Promise<string> {
  let out = "";
  const io: WgIo = { stdin: async () => stdin, out: (s) => void (out += s), err: () => {} };
  await runWg(argv, io, {});
  return out;
}

/** `wg setconf IFACE file` against the fake userspace socket: the UAPI `set` text wg sent. */
async function setconf(file: string): Promise<{ code: number; err: string; uapi: string }> {
  let uapi = "";
  const server = Bun.listen({
    unix: SOCK,
    socket: {
      data(sock, chunk) {
        uapi += chunk.toString();
        if (uapi.endsWith("\n\n")) {
          sock.write("errno=0\n\n");
          sock.end();
        }
      },
    },
  });
  try {
    const r = await run([WG as string, "setconf", IFACE, file]);
    return { code: r.code, err: r.err, uapi };
  } finally {
    server.stop(true);
    rmSync(SOCK, { force: true });
  }
}

const hex = (b64: string): string => Buffer.from(b64, "base64").toString("hex");
const uapiList = (uapi: string, key: string): string[] => uapi.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

describe.skipIf(noTools !== null)("keys interchange with wg", () => {
  test("wg pubkey of a warren key and warren wg pubkey of a wg key", async () => {
    const ours = await warren(["genkey"]);
    expect((await run([WG as string, "pubkey"], ours)).out).toBe(await warren(["pubkey"], ours));
    const theirs = (await run([WG as string, "genkey"])).out;
    expect(await warren(["pubkey"], theirs)).toBe((await run([WG as string, "pubkey"], theirs)).out);
    const psk = await warren(["genpsk"]);
    expect((await run([WG as string, "pubkey"], psk)).code).toBe(0); // any 32 bytes in this format are a key to wg
  });
});

describe.skipIf(noRoot !== null)("wg-quick and wg parse warren's files", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "warren-wgtools-"));
    mkdirSync(SOCK_DIR, { recursive: true, mode: 0o755 });
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(SOCK, { force: true });
  });

  test("a client config: wg-quick strip, then wg setconf, carries every key and route", async () => {
    const peers = join(dir, "peers.conf");
    const base = ["--peers", peers, "--key-file", join(dir, "wg.key"), "--endpoint", "[2001:db8::1]:51820", "--pool6", "fd00:8::/64", "--route", "0.0.0.0/0", "--route", "::/0", "--dns", "9.9.9.9"];
    const config = await warren(["add", "phone", ...base]);
    const file = join(dir, `${IFACE}.conf`);
    writeFileSync(file, config, { mode: 0o600 });
    const stripped = await run([WG_QUICK as string, "strip", file]);
    expect(stripped.err).toBe("");
    expect(stripped.code).toBe(0);
    expect(stripped.out).not.toMatch(/^(Address|DNS|MTU)/m);
    const wgFile = join(dir, "stripped.conf");
    writeFileSync(wgFile, stripped.out, { mode: 0o600 });
    const r = await setconf(wgFile);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const priv = /PrivateKey = (\S+)/.exec(config)?.[1] as string;
    const server = /\[Peer\][^]*?PublicKey = (\S+)[^]*?PresharedKey = (\S+)/.exec(config);
    expect(uapiList(r.uapi, "private_key")).toEqual([hex(priv)]);
    expect(uapiList(r.uapi, "public_key")).toEqual([hex(server?.[1] as string)]);
    expect(uapiList(r.uapi, "preshared_key")).toEqual([hex(server?.[2] as string)]);
    expect(uapiList(r.uapi, "endpoint")).toEqual(["[2001:db8::1]:51820"]);
    expect(uapiList(r.uapi, "persistent_keepalive_interval")).toEqual(["25"]);
    expect(uapiList(r.uapi, "allowed_ip")).toEqual(["0.0.0.0/0", "::/0"]);
  });

  test("the peers file, and a wg-quick server config warren appended to, set the same peers in wg", async () => {
    const serverConf = join(dir, `${IFACE}.conf`);
    const serverKey = await warren(["genkey"]);
    const original = `# the old wg-quick server\n[Interface]\nAddress = 10.8.0.1/24\nListenPort = 51820\nPrivateKey = ${serverKey}PostUp = true\n\n[Peer]\n# Name = old\nPublicKey = ${keyToBase64(publicKey(keyFromBase64((await warren(["genkey"])).trim()) as Uint8Array))}\nAllowedIPs = 10.8.0.2/32\n`;
    writeFileSync(serverConf, original, { mode: 0o600 });
    const base = ["--peers", serverConf, "--key-file", join(dir, "wg.key"), "--endpoint", "vpn.example.com"];
    await warren(["add", "new-1", ...base]);
    await warren(["add", "new-2", ...base]);
    const text = readFileSync(serverConf, "utf8");
    expect(text.startsWith(original)).toBe(true);
    const ours = parsePeers(text, serverConf).peers;
    const stripped = await run([WG_QUICK as string, "strip", serverConf]);
    expect(stripped.code).toBe(0);
    const wgFile = join(dir, "server-stripped.conf");
    writeFileSync(wgFile, stripped.out, { mode: 0o600 });
    const r = await setconf(wgFile);
    expect(r.code).toBe(0);
    expect(uapiList(r.uapi, "private_key")).toEqual([hex(serverKey.trim())]);
    expect(uapiList(r.uapi, "public_key")).toEqual(ours.map((p) => Buffer.from(p.publicKey).toString("hex")));
    expect(uapiList(r.uapi, "allowed_ip")).toEqual(ours.flatMap((p) => p.allowedIps.map(formatCidr)));
    expect(uapiList(r.uapi, "preshared_key").length).toBe(2);
    // the bare peers file (no [Interface]) is wg syntax as it stands
    const peersOnly = join(dir, "peers-only.conf");
    writeFileSync(peersOnly, text.slice(text.indexOf("[Peer]")), { mode: 0o600 });
    chmodSync(peersOnly, 0o600);
    const bare = await setconf(peersOnly);
    expect(bare.err).toBe("");
    expect(uapiList(bare.uapi, "public_key").length).toBe(3);
  });
});

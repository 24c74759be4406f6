/**
 * @module toysession
 * The ToyVpn side of the toyclient: one connected UDP socket to the server and what arrives
 * on it (control datagrams apart from data packets), the handshake (`0x00 secret[:id]` x3,
 * answers collected for 300 ms), and the parameter string parsed with the Android client's
 * rules (TOYVPN-PROTOCOL.md), reporting anything that client would reject.
 */
import type { udp } from "bun";
import { errorCode } from "../../src/lib/errors.ts";
import { eventually, sleep } from "../lib/wait.ts";

type Sock = udp.ConnectedSocket<"uint8array">;

/** Parsed parameter string, checked with the Android client's rules (TOYVPN-PROTOCOL.md). */
export interface Params {
  raw: string;
  valid: boolean;
  errors: string[];
  mtu?: number;
  address?: string;
  prefix?: number;
  /** First IPv6 `a` option, if any. */
  address6?: string;
  routes: string[];
  dns: string[];
}

/** Parses a parameter string the way the Android ToyVpn client does, recording what it would reject. */
export function parseParams(raw: string): Params {
  const p: Params = { raw, valid: true, errors: [], routes: [], dns: [] };
  const bad = (why: string) => {
    p.valid = false;
    p.errors.push(why);
  };
  const int = (s: string | undefined) => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : NaN);
  for (const part of raw.trim().split(" ")) {
    const f = part.split(",");
    switch (part.charAt(0)) {
      case "":
        bad("empty option (double space?)");
        break;
      case "m":
        if (Number.isNaN(int(f[1]))) bad(`bad MTU in "${part}"`);
        else p.mtu = int(f[1]);
        break;
      case "a":
        if (f.length < 3 || Number.isNaN(int(f[2]))) bad(`bad address in "${part}"`);
        else if (p.address === undefined && f[1]?.includes(".")) [p.address, p.prefix] = [f[1], int(f[2])];
        else if (p.address6 === undefined && f[1]?.includes(":")) p.address6 = f[1];
        break;
      case "r":
        if (f.length < 3 || Number.isNaN(int(f[2]))) bad(`bad route in "${part}"`);
        else p.routes.push(`${f[1]}/${f[2]}`);
        break;
      case "d":
        if (f.length < 2) bad(`bad DNS in "${part}"`);
        else p.dns.push(f[1] ?? "");
        break;
      default:
        break; // unknown options are ignored, like Android
    }
  }
  return p;
}

/** One UDP socket to the server and what arrived on it. */
export class Endpoint {
  readonly controls: Array<{ at: number; data: Uint8Array }> = [];
  readonly data: Array<{ at: number; data: Uint8Array }> = [];
  onData: (pkt: Uint8Array, ep: Endpoint) => void = () => {};
  address = "";
  address6 = "";

  private constructor(readonly sock: Sock, readonly label: string) {}

  static async open(server: { host: string; port: number }, label: string): Promise<Endpoint> {
    let ep: Endpoint | undefined;
    const pending: Uint8Array[] = [];
    const sock = await Bun.udpSocket({
      binaryType: "uint8array",
      connect: { hostname: server.host, port: server.port },
      socket: {
        data(_s, buf) {
          if (ep) ep.receive(buf);
          else pending.push(buf);
        },
        error(...a: unknown[]) {
          const err = a[a.length - 1];
          if (errorCode(err) !== "ECONNREFUSED") console.error(`toyclient: ${label} socket error: ${String(err)}`);
        },
      },
    });
    ep = new Endpoint(sock, label);
    for (const b of pending) ep.receive(b);
    return ep;
  }

  get port(): number {
    return this.sock.port;
  }

  receive(buf: Uint8Array): void {
    const copy = buf.slice();
    if (copy.length > 0 && copy[0] === 0) this.controls.push({ at: Date.now(), data: copy });
    else if (copy.length > 0) {
      this.data.push({ at: Date.now(), data: copy });
      this.onData(copy, this);
    }
  }

  send(bytes: Uint8Array): void {
    try {
      this.sock.send(bytes);
    } catch (e) {
      console.error(`toyclient: ${this.label} send failed: ${String(e)}`);
    }
  }

  close(): void {
    this.sock.close();
  }
}

/** What one handshake got: whether, how fast, how many answers of which sizes, the parameters. */
export interface HandshakeResult {
  answered: boolean;
  ms?: number;
  datagrams: number;
  sizes: number[];
  params?: Params;
  localPort: number;
}

/**
 * Sends `0x00 secret[:id]` three times from `ep`, waits up to `handshakeMs` for an answer, then
 * 300 ms more for its duplicates. Sets `ep.address`/`ep.address6` from the parameters.
 */
export async function handshake(ep: Endpoint, o: { secret: string; id?: string; handshakeMs: number }): Promise<HandshakeResult> {
  const text = o.id === undefined ? o.secret : `${o.secret}:${o.id}`;
  const msg = new Uint8Array([0, ...new TextEncoder().encode(text)]);
  const start = Date.now();
  const before = ep.controls.length;
  for (let i = 0; i < 3; i++) ep.send(msg);
  const answered = await eventually(() => ep.controls.slice(before).some((c) => c.data.length > 1), o.handshakeMs);
  if (!answered) return { answered: false, datagrams: 0, sizes: [], localPort: ep.port };
  const first = ep.controls.slice(before).find((c) => c.data.length > 1);
  await sleep(300); // the duplicates
  const answers = ep.controls.slice(before).filter((c) => c.data.length > 1);
  const raw = new TextDecoder().decode((first?.data ?? new Uint8Array(1)).subarray(1));
  const params = parseParams(raw);
  ep.address = params.address ?? "";
  ep.address6 = params.address6 ?? "";
  return {
    answered: true,
    ms: (first?.at ?? start) - start,
    datagrams: answers.length,
    sizes: [...new Set(answers.map((a) => a.data.length))],
    params,
    localPort: ep.port,
  };
}

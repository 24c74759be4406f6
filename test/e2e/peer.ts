/**
 * @module peer
 * Small network endpoints the e2e tests run inside namespaces, each printing JSON lines on
 * stdout and each stopping by itself after --max-ms (default 60 s):
 *
 *   bun peer.ts udp-sink --bind 10.8.0.1:9000 [--reply TEXT]
 *       {"kind":"listening"}, then one {"kind":"udp","from","port","payload"} per datagram;
 *       with --reply, answers every datagram with TEXT.
 *   bun peer.ts tcp-sink --bind 10.8.0.1:9100
 *       {"kind":"listening"}; for the first connection, when the peer has finished sending:
 *       {"kind":"tcp-received","bytes","sha256","ms","from"}; then exits 0.
 *   bun peer.ts tcp-send --to 10.8.0.1:9100 --bytes 20000000
 *       sends that many random bytes, half-closes, waits for the sink to close, then
 *       {"kind":"tcp-sent","bytes","sha256","ms"}; exits 0 (1 on a connection error).
 */
export {}; // a module: top-level await below

const CHUNK = 64 * 1024; // crypto.getRandomValues' limit

const print = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

function fail(msg: string): never {
  console.error(`peer: ${msg}`);
  process.exit(2);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function hostPort(flag: string): { host: string; port: number } {
  const v = arg(flag) ?? fail(`${flag} HOST:PORT is required`);
  const i = v.lastIndexOf(":");
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port)) fail(`${flag}: bad HOST:PORT "${v}"`);
  return { host: v.slice(0, i), port };
}

const maxMs = Number(arg("--max-ms") ?? 60_000);
setTimeout(() => {
  print({ kind: "timeout", maxMs });
  process.exit(3);
}, maxMs);

async function udpSink(): Promise<void> {
  const { host, port } = hostPort("--bind");
  const reply = arg("--reply");
  await Bun.udpSocket({
    hostname: host,
    port,
    binaryType: "uint8array",
    socket: {
      data(sock, data, rport, raddr) {
        print({ kind: "udp", from: raddr, port: rport, payload: new TextDecoder().decode(data) });
        if (reply !== undefined) {
          try {
            sock.send(reply, rport, raddr);
          } catch (e) {
            console.error(`peer: reply failed: ${String(e)}`);
          }
        }
      },
      error(...a: unknown[]) {
        console.error(`peer: udp error: ${String(a[a.length - 1])}`);
      },
    },
  });
  print({ kind: "listening", host, port });
}

function tcpSink(): void {
  const { host, port } = hostPort("--bind");
  const hasher = new Bun.CryptoHasher("sha256");
  let bytes = 0;
  let start = 0;
  let reported = false;
  const report = (from: string) => {
    if (reported) return;
    reported = true;
    print({ kind: "tcp-received", bytes, sha256: hasher.digest("hex"), ms: Math.round(performance.now() - start), from });
    setTimeout(() => process.exit(0), 50);
  };
  Bun.listen({
    hostname: host,
    port,
    socket: {
      open() {
        start = performance.now();
      },
      data(_s, d) {
        hasher.update(d);
        bytes += d.length;
      },
      end(s) {
        report(s.remoteAddress);
        s.end();
      },
      close(s) {
        report(s.remoteAddress);
      },
      error(_s, e) {
        console.error(`peer: tcp-sink error: ${String(e)}`);
      },
    },
  });
  print({ kind: "listening", host, port });
}

async function tcpSend(): Promise<void> {
  const { host, port } = hostPort("--to");
  const total = Number(arg("--bytes") ?? fail("--bytes is required"));
  const hasher = new Bun.CryptoHasher("sha256");
  let sent = 0;
  let chunk = new Uint8Array(0);
  let off = 0;
  const start = performance.now();
  let ended = false;
  const pump = (s: { write(d: Uint8Array): number; end(): void }) => {
    while (!ended) {
      if (off === chunk.length) {
        if (sent === total) {
          ended = true;
          s.end();
          return;
        }
        chunk = crypto.getRandomValues(new Uint8Array(Math.min(CHUNK, total - sent)));
        hasher.update(chunk);
        sent += chunk.length;
        off = 0;
      }
      const n = s.write(chunk.subarray(off));
      off += Math.max(n, 0);
      if (off < chunk.length) return; // socket buffer full: wait for drain
    }
  };
  await Bun.connect({
    hostname: host,
    port,
    socket: {
      open: pump,
      drain: pump,
      data() {},
      close() {
        const complete = ended;
        print({ kind: "tcp-sent", bytes: sent - (chunk.length - off), sha256: hasher.digest("hex"), ms: Math.round(performance.now() - start), complete });
        process.exit(complete ? 0 : 1);
      },
      connectError(_s, e) {
        print({ kind: "tcp-error", error: String(e) });
        process.exit(1);
      },
      error(_s, e) {
        console.error(`peer: tcp-send error: ${String(e)}`);
      },
    },
  });
}

switch (process.argv[2]) {
  case "udp-sink":
    await udpSink();
    break;
  case "tcp-sink":
    tcpSink();
    break;
  case "tcp-send":
    await tcpSend();
    break;
  default:
    fail("usage: peer.ts udp-sink|tcp-sink|tcp-send ...");
}

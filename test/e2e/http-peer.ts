/**
 * @module http-peer
 * The two ends of an HTTP download for the NAT tests, each printing JSON lines on stdout and
 * stopping by itself after --max-ms:
 *
 *   bun http-peer.ts serve --port 8080 [--max-bytes 52428800] [--max-ms 600000]
 *       Bun.serve on [::]:PORT (IPv4 and IPv6). GET /blob/N answers N random bytes (a prefix of one
 *       buffer made at start) and prints {"kind":"request","from","bytes","sha256"}: `from` is the
 *       peer address as this host sees it (IPv4 without the ::ffff: prefix).
 *       Prints {"kind":"listening","port"} when ready.
 *   bun http-peer.ts get --url http://10.88.0.2:8080/blob/10485760 [--max-ms 120000]
 *       downloads, hashing as it reads, then {"kind":"got","status","bytes","sha256","ms"}; exit 0.
 *       Any error: {"kind":"get-error","error"} and exit 1.
 */
export {}; // a module: top-level await below

const print = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);

function fail(msg: string): never {
  console.error(`http-peer: ${msg}`);
  process.exit(2);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const RANDOM_CHUNK = 64 * 1024; // crypto.getRandomValues' limit

function serve(): void {
  const port = Number(arg("--port") ?? fail("--port is required"));
  const maxBytes = Number(arg("--max-bytes") ?? 50 * 1024 * 1024);
  const blob = new Uint8Array(maxBytes);
  for (let off = 0; off < maxBytes; off += RANDOM_CHUNK) crypto.getRandomValues(blob.subarray(off, Math.min(off + RANDOM_CHUNK, maxBytes)));
  const srv = Bun.serve({
    hostname: "::",
    port,
    fetch(req, server) {
      const m = /^\/blob\/(\d+)$/.exec(new URL(req.url).pathname);
      const bytes = m ? Number(m[1]) : -1;
      if (bytes < 0 || bytes > maxBytes) return new Response("not found\n", { status: 404 });
      const body = blob.subarray(0, bytes);
      const from = (server.requestIP(req)?.address ?? "?").replace(/^::ffff:(\d+\.)/, "$1");
      print({ kind: "request", from, bytes, sha256: new Bun.CryptoHasher("sha256").update(body).digest("hex") });
      return new Response(body, { headers: { "content-type": "application/octet-stream" } });
    },
  });
  print({ kind: "listening", port: srv.port });
}

async function get(): Promise<void> {
  const url = arg("--url") ?? fail("--url is required");
  const start = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(maxMs - 1000) });
    const hasher = new Bun.CryptoHasher("sha256");
    let bytes = 0;
    if (res.body) {
      for await (const chunk of res.body) {
        hasher.update(chunk);
        bytes += chunk.length;
      }
    }
    print({ kind: "got", status: res.status, bytes, sha256: hasher.digest("hex"), ms: Math.round(performance.now() - start) });
    process.exit(0);
  } catch (e) {
    print({ kind: "get-error", error: String(e), ms: Math.round(performance.now() - start) });
    process.exit(1);
  }
}

const maxMs = Number(arg("--max-ms") ?? 600_000);
setTimeout(() => {
  print({ kind: "timeout", maxMs });
  process.exit(3);
}, maxMs);

switch (process.argv[2]) {
  case "serve":
    serve();
    break;
  case "get":
    await get();
    break;
  default:
    fail("usage: http-peer.ts serve|get ...");
}

/**
 * The HTTP listener's guards (admin/http.ts + http-access.ts) on real loopback
 * listeners (127.0.0.1, ephemeral ports): the Host check that stops DNS rebinding, and
 * the optional token (Bearer header, or the cookie a `/?token=` login sets). The
 * wildcard-address case is checked on route() without binding anything.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpAccess, readTokenFile } from "../../src/admin/http-access.ts";
import { type HttpGuard, type HttpListener, listenHttp, route } from "../../src/admin/http.ts";
import { serverConfigFromArgs } from "../../src/cli/server.ts";
import { recordingLogger } from "../lib/log.ts";
import { snapshot } from "../lib/snapshot-fixture.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "warren-http-"));
const listeners: HttpListener[] = [];
afterAll(() => {
  for (const l of listeners) l.stop();
  rmSync(dir, { recursive: true, force: true });
});

function listen(guard: HttpGuard = {}): (path: string, headers?: Record<string, string>) => Promise<Response> {
  const l = listenHttp("127.0.0.1", 0, () => snapshot(), recordingLogger(), guard);
  listeners.push(l);
  return (path, headers = {}) => fetch(`http://${l.url}${path}`, { headers, redirect: "manual" });
}

describe("Host header", () => {
  test("another name is refused on every path: a rebinding page cannot read the clients", async () => {
    const get = listen();
    for (const path of ["/api/status", "/", "/metrics", "/healthz", "/nope"]) {
      const r = await get(path, { host: "attacker.example" });
      expect(r.status).toBe(421);
      expect(await r.text()).not.toContain("192.0.2.10");
    }
    expect((await get("/api/status", { host: "attacker.example:80" })).status).toBe(421);
    expect((await get("/api/status", { host: "127.0.0.2" })).status).toBe(421); // an address it is not bound to
  });

  test("its own address, localhost, and --metrics-host names are answered", async () => {
    const get = listen({ hosts: ["dash.example", "192.0.2.99"] });
    expect((await get("/api/status")).status).toBe(200); // Host: 127.0.0.1:PORT
    for (const host of ["localhost", "LOCALHOST:9810", "localhost.", "dash.example:9810", "Dash.Example", "192.0.2.99"]) {
      expect([host, (await get("/healthz", { host })).status]).toEqual([host, 200]);
    }
    expect((await get("/healthz", { host: "evil.dash.example" })).status).toBe(421);
  });

  test("listening on a wildcard address: any IP literal, still no other names", () => {
    const access = new HttpAccess({ listenHost: "::", hosts: [] });
    const status = (host: string) => route(new Request("http://x/healthz", { headers: { host } }), () => snapshot(), access).status;
    expect([status("198.51.100.1:9810"), status("[2001:db8::1]:9810"), status("localhost")]).toEqual([200, 200, 200]);
    expect(status("rebind.attacker.example")).toBe(421);
    expect(route(new Request("http://x/healthz"), () => snapshot(), access).status).toBe(421); // no Host at all
  });
});

describe("token", () => {
  test("dashboard and /api need it: Bearer, or the cookie a /?token= login sets", async () => {
    const get = listen({ token: TOKEN });
    const none = await get("/api/status");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="warren"');
    expect((await get("/api/status", { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
    expect((await get("/api/status", { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const page = await get("/");
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toContain('name="token"');
    // the CSP allows the page's one inline style by its hash, nothing inline beyond it
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).not.toContain("unsafe-inline");
    const styles = [...html.matchAll(/<style>([^<]*)<\/style>/g)].map((m) => m[1] as string);
    expect(styles.length).toBe(1);
    expect(csp).toContain(`style-src 'sha256-${createHash("sha256").update(styles[0] as string).digest("base64")}'`);
    expect(html).not.toMatch(/<script|style=/);

    const bad = await get("/?token=wrong-token-wrong-token");
    expect([bad.status, bad.headers.get("set-cookie")]).toEqual([401, null]);
    const login = await get(`/?token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.headers.get("location")).toBe("/");
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^warren_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=\/$/);
    expect(cookie).not.toContain(TOKEN);
    const jar = cookie.split(";")[0] as string;
    expect((await get("/api/status", { cookie: jar })).status).toBe(200);
    expect((await get("/", { cookie: `other=1; ${jar}` })).status).toBe(200);
    expect((await get("/api/status", { cookie: `${jar.slice(0, -1)}0` })).status).toBe(401);
    expect((await get("/metrics")).status).toBe(401);
    expect((await get("/healthz")).status).toBe(401);
    expect((await get("/metrics", { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  test("--metrics-public: /metrics and /healthz open, the rest still guarded; the Host check stays", async () => {
    const get = listen({ token: TOKEN, publicProbes: true });
    expect((await get("/metrics")).status).toBe(200);
    expect((await get("/healthz")).status).toBe(200);
    expect((await get("/api/status")).status).toBe(401);
    expect((await get("/metrics", { host: "attacker.example" })).status).toBe(421);
  });

  test("token file: one token, long enough; a warning when others can read it", () => {
    const log = recordingLogger();
    const f = join(dir, "token");
    writeFileSync(f, `${TOKEN}\n`, { mode: 0o600 });
    chmodSync(f, 0o600);
    expect(readTokenFile(f, log)).toBe(TOKEN);
    expect(log.lines).toEqual([]);
    chmodSync(f, 0o644);
    readTokenFile(f, log);
    expect(log.lines.join("\n")).toContain(`metrics token file ${f} is readable by others (mode 644); chmod 600 it`);
    writeFileSync(f, "short\n");
    expect(() => readTokenFile(f, log)).toThrow(/expected one token of at least 16 characters/);
    expect(() => readTokenFile(join(dir, "none"), log)).toThrow(/^metricsTokenFile: cannot read it: no such file or directory \(got ".*none"\)$/);
  });

  test("flags: --metrics-host is repeatable, --metrics-token-file, --metrics-public", () => {
    const cfg = serverConfigFromArgs(["--secret", "x", "--metrics", "127.0.0.1:9810", "--metrics-host", "a.example", "--metrics-host", "192.0.2.5", "--metrics-token-file", "/etc/warren/metrics.token", "--metrics-public"], {});
    if (cfg === "help") throw new Error("help");
    expect([cfg.metricsHost, cfg.metricsTokenFile, cfg.metricsPublic]).toEqual([["a.example", "192.0.2.5"], "/etc/warren/metrics.token", true]);
    expect(() => serverConfigFromArgs(["--secret", "x", "--metrics-host", "no such host"], {})).toThrow(/^--metrics-host: expected a host name/);
  });
});

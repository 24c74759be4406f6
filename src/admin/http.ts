/**
 * @module admin/http
 * The optional HTTP listener (`--metrics HOST:PORT`, off by default), read-only:
 *   GET /            the dashboard (dashboard.ts)
 *   GET /api/status  the snapshot as JSON (what the dashboard polls)
 *   GET /api/history the throughput of the last 30 minutes (history.ts)
 *   GET /dashboard.js, /dashboard.css, /favicon.svg (/favicon.ico): the page's files
 *   GET /metrics     Prometheus text (metrics.ts)
 *   GET /healthz     "ok" while the server runs
 * Anything else is 404, methods other than GET/HEAD 405. Nothing here can change the
 * server: changes go through the control socket, which only local root can reach.
 * Before any route, http-access.ts checks the Host header (DNS rebinding) and, with
 * --metrics-token-file, the token.
 */

import { codeOrMessage, WarrenError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { dashboardAsset, dashboardResponse } from "./dashboard.ts";
import type { HistoryJson } from "./history.ts";
import { HttpAccess, type HttpAccessOptions } from "./http-access.ts";
import { METRICS_CONTENT_TYPE, metricsText } from "./metrics.ts";
import type { Snapshot } from "./snapshot.ts";
import { formatEndpoint } from "../protocol/ip.ts";

/** A running HTTP listener. */
export interface HttpListener {
  /** `host:port` it is bound to. */
  readonly url: string;
  stop(): void;
}

const PLAIN = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
const NO_HISTORY = (): HistoryJson => ({ intervalSec: 0, samples: [] });

/** Answers one request from a fresh snapshot, after the access checks (used by the listener and tests). */
export function route(req: Request, snapshot: () => Snapshot, access: HttpAccess, history: () => HistoryJson = NO_HISTORY): Response {
  const url = new URL(req.url);
  const refused = access.check(req, url);
  if (refused !== null) return refused;
  if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { ...PLAIN, allow: "GET, HEAD" } });
  switch (url.pathname) {
    case "/":
    case "/index.html":
      return dashboardResponse();
    case "/api/history":
      return new Response(JSON.stringify(history()), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
    case "/api/status":
      return new Response(JSON.stringify(snapshot()), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
    case "/metrics":
      return new Response(metricsText(snapshot()), { headers: { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" } });
    case "/healthz":
      return new Response("ok\n", { headers: PLAIN });
    default:
      return dashboardAsset(url.pathname) ?? new Response("not found\n", { status: 404, headers: PLAIN });
  }
}

/** What guards a listener beyond its address: extra Host names, the token (see http-access.ts). */
export type HttpGuard = Omit<HttpAccessOptions, "listenHost">;

/** Starts the listener on `host:port`; throws a one-line WarrenError when it cannot bind. */
export function listenHttp(host: string, port: number, snapshot: () => Snapshot, log: Logger, guard: HttpGuard = {}, history: () => HistoryJson = NO_HISTORY): HttpListener {
  const access = new HttpAccess({ ...guard, listenHost: host });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port,
      fetch: (req) => route(req, snapshot, access, history),
      error(e) {
        log.warn(`http: ${e.message}`);
        return new Response("internal error\n", { status: 500, headers: PLAIN });
      },
    });
  } catch (e) {
    const code = codeOrMessage(e);
    throw new WarrenError("ERR_METRICS", `cannot listen for metrics on ${formatEndpoint(host, port)}: ${code}`);
  }
  const url = formatEndpoint(host, server.port ?? port);
  return { url, stop: () => void server.stop(true) };
}

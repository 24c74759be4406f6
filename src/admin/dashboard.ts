/**
 * @module admin/dashboard
 * The read-only web page at `/` of the metrics listener: status cards with the current
 * throughput, a chart of the last 30 minutes (from /api/history, so a reload does not
 * start from zero) and the clients table, sortable and filterable, refreshed every
 * second from `api/status` (the same snapshot the control socket serves).
 *
 * Four files, embedded in the binary by the text imports below and served as they are:
 * dashboard.html, dashboard.css, dashboard-page.js (as /dashboard.js), favicon.svg. No
 * CDN, no build step, no inline script or style: the CSP allows only this origin.
 */

import css from "./dashboard.css" with { type: "text" };
import page from "./dashboard.html" with { type: "text" };
import script from "./dashboard-page.js" with { type: "text" };
import icon from "./favicon.svg" with { type: "text" };

/** The page's HTML. */
export const DASHBOARD_HTML: string = page as unknown as string;

/** Tight CSP: the page loads nothing from elsewhere, runs no inline code, and talks only to its own origin. */
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const COMMON = { "x-content-type-options": "nosniff", "cache-control": "no-store" };

/** The page's other files by path: content type and text. */
const ASSETS: ReadonlyMap<string, { type: string; body: string }> = new Map([
  ["/dashboard.js", { type: "text/javascript; charset=utf-8", body: script }],
  ["/dashboard.css", { type: "text/css; charset=utf-8", body: css }],
  ["/favicon.svg", { type: "image/svg+xml", body: icon }],
  ["/favicon.ico", { type: "image/svg+xml", body: icon }],
]);

/** The HTTP response for `/`. */
export function dashboardResponse(): Response {
  return new Response(DASHBOARD_HTML, { headers: { "content-type": "text/html; charset=utf-8", "content-security-policy": CSP, ...COMMON } });
}

/** The response for one of the page's files, or null when `path` is none of them. */
export function dashboardAsset(path: string): Response | null {
  const a = ASSETS.get(path);
  return a === undefined ? null : new Response(a.body, { headers: { "content-type": a.type, ...COMMON } });
}

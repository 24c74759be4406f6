/**
 * @module admin/dashboard
 * The read-only web page at `/` of the metrics listener: a status summary and the
 * clients table, refreshed every second from `api/status` (the same snapshot the
 * control socket serves), with a per-client throughput sparkline drawn as inline SVG.
 * The page is one self-contained HTML file (no CDN, no build step), embedded in the
 * binary by the text import below.
 */

import page from "./dashboard.html" with { type: "text" };

/** The page's HTML. */
export const DASHBOARD_HTML: string = page as unknown as string;

/** Tight CSP: the page loads nothing from elsewhere and talks only to its own origin. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The HTTP response for `/`. */
export function dashboardResponse(): Response {
  return new Response(DASHBOARD_HTML, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CSP,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    },
  });
}

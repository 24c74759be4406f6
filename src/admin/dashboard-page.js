// warren dashboard script, served at /dashboard.js (the page's CSP allows no inline
// script). Polls api/status every second and api/history every 10 s; draws the cards,
// the throughput chart (inline SVG) and the clients table (sortable, filterable).
// Rates "now" come from two consecutive polls; the chart from the server's history,
// so a reload starts with the last 30 minutes, not from zero.
"use strict";
(() => {
  const REFRESH_MS = 1000, HISTORY_MS = 10_000;
  /** Nothing heard from a client for two WireGuard keepalive intervals (2 x 25 s). */
  const IDLE_AFTER_MS = 50_000;
  const COLUMNS = ["Client", "User", "Protocol", "Endpoint", "Address", "Connected", "Last seen", "In now", "Out now", "In total", "Out total", "Drops"];
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
  let last = null; // previous snapshot: { time, totals, clients: Map id -> {serial, rxBytes, ...} }
  let rates = new Map(); // client id -> { rxBits, txBits, rxPps, txPps }
  let totalRate = null;
  let snap = null;
  let sort = { key: "address", dir: 1 };
  let updates = 0;

  function bytes(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 2 : 1)) + " " + u[i];
  }
  function bits(n) {
    const u = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"]; let i = 0;
    while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + u[i];
  }
  const pps = (n) => (n < 10 ? n.toFixed(1) : String(Math.round(n))) + " pkt/s";
  function dur(sec) {
    sec = Math.max(0, Math.floor(sec));
    const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
  }
  const ago = (t, now) => dur((now - t) / 1000) + " ago";
  const ip4 = (a) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  function card(k, v, s, cls) {
    return `<div class="card${cls ? " " + cls : ""}" data-card="${esc(k)}"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div>${s ? `<div class="s">${esc(s)}</div>` : ""}</div>`;
  }

  /** Per-second rates between the previous poll and this one. */
  function track(s) {
    const next = new Map(s.clients.map((c) => [c.id, c]));
    if (last) {
      const dt = Math.max(0.001, (s.time - last.time) / 1000);
      const r = (a, b) => Math.max(0, a - b) / dt;
      rates = new Map();
      for (const c of s.clients) {
        const p = last.clients.get(c.id);
        if (!p || p.serial !== c.serial) continue;
        rates.set(c.id, { rxBits: r(c.rxBytes, p.rxBytes) * 8, txBits: r(c.txBytes, p.txBytes) * 8, rxPps: r(c.rxPackets, p.rxPackets), txPps: r(c.txPackets, p.txPackets) });
      }
      const t = s.status.totals, p = last.totals;
      totalRate = { rxBits: r(t.rxBytes, p.rxBytes) * 8, txBits: r(t.txBytes, p.txBytes) * 8, rxPps: r(t.rxPackets, p.rxPackets), txPps: r(t.txPackets, p.txPackets) };
    }
    last = { time: s.time, totals: s.status.totals, clients: next };
  }

  function renderCards(s) {
    const st = s.status, tr = totalRate;
    $("version").textContent = `${st.version} · pid ${st.pid}`;
    $("cards").innerHTML = [
      card("In now", tr ? bits(tr.rxBits) : "…", tr ? pps(tr.rxPps) : "measuring", "in"),
      card("Out now", tr ? bits(tr.txBits) : "…", tr ? pps(tr.txPps) : "measuring", "out"),
      card("Sessions", st.sessions, st.settings.maxClients ? `max ${st.settings.maxClients}` : "no limit but the pool"),
      card("Uptime", dur(st.uptimeSec), "since " + new Date(st.startedAt).toLocaleString()),
      card("Listen", st.listen, `tun ${st.tun}, mtu ${st.mtu}`),
      card("Pool", `${st.pool.used} / ${st.pool.total}`, st.pool.prefix + (st.pool6 ? " · " + st.pool6 : "")),
      card("In total", bytes(st.totals.rxBytes), `${st.totals.rxPackets} packets`),
      card("Out total", bytes(st.totals.txBytes), `${st.totals.txPackets} packets`),
      card("Handshakes", `${st.handshakes.ok} ok`, `${st.handshakes.rejected} rejected, ${st.handshakes.refused} refused`),
      card("Drops", sum(st.drops), Object.entries(st.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") || "none"),
      card("Settings", st.settings.isolate ? "isolated" : "hub", `idle ${st.settings.idleTimeout} s · log ${st.settings.logLevel}`),
    ].join("");
  }

  // The server marks a client idle (admin/snapshot.ts isIdle); older snapshots without the field fall back to the same rule.
  const idle = (c, now) => (typeof c.idle === "boolean" ? c.idle : now - c.lastSeen > IDLE_AFTER_MS);
  function sortValue(c, key) {
    const r = rates.get(c.id);
    switch (key) {
      case "address": return ip4(c.address);
      case "user": return c.user ?? "";
      case "rxRate": return r ? r.rxBits : -1;
      case "txRate": return r ? r.txBits : -1;
      case "drops": return sum(c.drops);
      default: return c[key];
    }
  }
  function visible(s) {
    const q = $("filter").value.trim().toLowerCase();
    const rows = s.clients.filter((c) => !q || [c.id, c.user ?? "", c.protocol, c.endpoint, c.address, c.address6 ?? "", idle(c, s.time) ? "idle" : "active"].join(" ").toLowerCase().includes(q));
    return rows.sort((a, b) => {
      const x = sortValue(a, sort.key), y = sortValue(b, sort.key);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir || a.serial - b.serial;
    });
  }
  function row(c, now) {
    const r = rates.get(c.id), quiet = idle(c, now);
    const cells = [
      `${esc(c.id)}${quiet ? ' <span class="badge idle">idle</span>' : ""}${c.capture ? ' <span class="badge rec" title="being captured">rec</span>' : ""}`,
      esc(c.user ?? "–"), esc(c.protocol), esc(c.endpoint),
      esc(c.address) + (c.address6 ? `<span class="sub">${esc(c.address6)}</span>` : ""),
      `<span title="${esc(new Date(c.connectedAt).toISOString())}">${ago(c.connectedAt, now)}</span>`,
      ago(c.lastSeen, now),
      r ? `<span class="rx-rate" data-bits="${Math.round(r.rxBits)}">${bits(r.rxBits)}</span><span class="sub rx-pps" data-pps="${r.rxPps.toFixed(1)}">${pps(r.rxPps)}</span>` : "…",
      r ? `<span class="tx-rate" data-bits="${Math.round(r.txBits)}">${bits(r.txBits)}</span><span class="sub tx-pps" data-pps="${r.txPps.toFixed(1)}">${pps(r.txPps)}</span>` : "…",
      `<span class="rx-bytes">${bytes(c.rxBytes)}</span><span class="sub"><span class="rx-packets">${c.rxPackets}</span> pkts</span>`,
      `<span class="tx-bytes">${bytes(c.txBytes)}</span><span class="sub"><span class="tx-packets">${c.txPackets}</span> pkts</span>`,
      String(sum(c.drops)),
    ];
    const td = cells.map((html, i) => `<td${i >= 7 ? ' class="n"' : ""} data-label="${COLUMNS[i]}"><span>${html}</span></td>`).join("");
    return `<tr data-client="${esc(c.id)}"${quiet ? ' class="idle" data-idle="1"' : ""}>${td}</tr>`;
  }
  function renderTable() {
    if (!snap) return;
    const rows = visible(snap);
    $("count").textContent = rows.length === snap.clients.length ? `(${snap.clients.length})` : `(${rows.length} of ${snap.clients.length})`;
    const empty = snap.clients.length ? "no client matches the filter" : "no clients connected";
    $("clients").innerHTML = rows.length ? rows.map((c) => row(c, snap.time)).join("") : `<tr><td class="empty" colspan="12">${empty}</td></tr>`;
    for (const th of document.querySelectorAll("#sort-row th")) {
      const key = th.querySelector("button").dataset.sort;
      if (key === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  function renderChart(h) {
    const pts = h.samples;
    $("history-span").textContent = pts.length ? `(last ${dur(pts.length * h.intervalSec)}, one point per ${h.intervalSec} s)` : "";
    if (pts.length < 2) {
      $("chart").innerHTML = `<p class="empty">collecting the first samples (one per ${h.intervalSec || 10} s)…</p>`;
      return;
    }
    const W = 600, H = 160, t0 = pts[0].t, t1 = pts[pts.length - 1].t;
    const peak = Math.max(...pts.map((p) => Math.max(p.rxBits, p.txBits))), max = Math.max(1000, peak);
    const x = (t) => ((t - t0) / Math.max(1, t1 - t0) * W).toFixed(1);
    const y = (v) => (H - 1 - v / max * (H - 2)).toFixed(1);
    const line = (k) => pts.map((p) => `${x(p.t)},${y(p[k])}`).join(" ");
    const time = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    // the SVG stretches to the box (no text inside it, which would stretch too); labels are HTML
    $("chart").innerHTML = `<svg class="chart" viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label="total throughput" data-points="${pts.length}" data-max="${Math.round(max)}">`
      + `<line class="grid" x1="0" y1="1" x2="${W}" y2="1"/><line class="grid" x1="0" y1="${H / 2}" x2="${W}" y2="${H / 2}"/><line class="grid" x1="0" y1="${H - 1}" x2="${W}" y2="${H - 1}"/>`
      + `<polyline class="in" points="${line("rxBits")}"/><polyline class="out" points="${line("txBits")}"/></svg>`
      + `<div class="chart-axis"><span>${esc(time(t0))}</span><span>top line ${esc(bits(max))} · peak ${esc(bits(peak))}</span><span>${esc(time(t1))}</span></div>`;
  }

  async function getJson(path) {
    const r = await fetch(path, { cache: "no-store" });
    if (r.status === 401) throw new Error("not logged in (token changed?): reload the page");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  }
  async function refresh() {
    try {
      snap = await getJson("api/status");
      track(snap);
      renderCards(snap);
      renderTable();
      updates++;
      document.body.dataset.updates = String(updates);
      $("live").className = "live";
      $("livetext").textContent = "live · updated " + new Date().toLocaleTimeString();
    } catch (e) {
      $("live").className = "live err";
      $("livetext").textContent = "cannot reach the server: " + e.message;
    } finally {
      setTimeout(refresh, REFRESH_MS);
    }
  }
  async function refreshHistory() {
    try {
      renderChart(await getJson("api/history"));
      document.body.dataset.history = String(Number(document.body.dataset.history ?? 0) + 1);
    } catch {
      /* the status line reports an unreachable server */
    } finally {
      setTimeout(refreshHistory, HISTORY_MS);
    }
  }

  $("filter").addEventListener("input", renderTable);
  $("sort-row").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-sort]");
    if (!b) return;
    const key = b.dataset.sort;
    sort = { key, dir: sort.key === key ? -sort.dir : key === "rxRate" || key === "txRate" || key === "rxBytes" || key === "txBytes" || key === "drops" ? -1 : 1 };
    renderTable();
  });
  refresh();
  refreshHistory();
})();

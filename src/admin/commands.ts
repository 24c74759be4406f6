/**
 * @module admin/commands
 * What each control request does to the running server. The control socket (and
 * SIGHUP, for reload) call `handle`; everything here runs on the event loop between
 * packet batches and only reads snapshots, closes sessions, or flips settings.
 *
 * Audit trail: changes (kick, set, reload, capture) are logged at info with who they
 * touched; reads (snapshot, get) at debug. A secret is never logged or returned.
 */

import { mkdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { ServerConfig } from "../config/server-schema.ts";
import type { Server } from "../server/server.ts";
import type { Session } from "../server/session.ts";
import type { Logger } from "../lib/log.ts";
import { logEvent } from "../lib/log-event.ts";
import type { ServiceNotifier } from "../platform/linux/sd-notify.ts";
import { sessionFields } from "../server/describe.ts";
import { formatIpv4, parseIpv4, parseIpv6 } from "../protocol/ip.ts";
import type { CaptureManager } from "./capture.ts";
import type { CaptureDirKeeper } from "./capture-dir.ts";
import { fail, ok, type Request, type Response, type ResultOf } from "./control-protocol.ts";
import { applyValue, configAfterReload, getSetting, type LiveTarget, planReload, setSetting } from "./settings.ts";
import { selectSessions } from "./selectors.ts";
import { handleWg } from "./wg-commands.ts";
import type { Snapshot } from "./snapshot.ts";

/** What the commands act on. */
export interface CommandContext {
  server: Server;
  live: LiveTarget;
  captures: CaptureManager;
  log: Logger;
  snapshot(): Snapshot;
  /** Re-reads the configuration (file + env + flags); throws ConfigError. */
  reloadConfig(): ServerConfig;
  /** The config file path, for messages (null when none was given). */
  configFile: string | null;
  /** The config the last (re)load produced. Updated by reload. */
  config: ServerConfig;
  /** The --capture-dir size keeper, when there is a capture dir. */
  keeper: CaptureDirKeeper | null;
  /** Wall clock minus the server's clock (ms). */
  wallOffset: number;
  pid: number;
  version: string;
  /** The service manager, told about reloads (RELOADING=1, then READY=1). */
  service?: ServiceNotifier;
}

/** `20261122T050351Z`, for capture file names. */
export function compactTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
}

/** A device id as a safe file name part. */
export function fileSafe(id: string): string {
  return id.replace(/^#/, "session").replace(/[^A-Za-z0-9._-]/g, "_");
}

/** Default capture path of a client: `<dir>/<id>-<time>.pcap`. */
export function capturePath(dir: string, id: string, wallMs: number): string {
  return join(dir, `${fileSafe(id)}-${compactTime(wallMs)}.pcap`);
}

/** Runs one control request. */
export async function handle(ctx: CommandContext, req: Request): Promise<Response> {
  switch (req.cmd) {
    case "hello":
      return ok({ pid: ctx.pid, version: ctx.version } satisfies ResultOf<"hello">);
    case "snapshot":
      ctx.log.debug("control: snapshot");
      return ok(ctx.snapshot());
    case "get": {
      ctx.log.debug(`control: get ${req.key}`);
      const r = getSetting(ctx.live, req.key);
      return r.ok ? ok({ key: req.key, value: r.value } satisfies ResultOf<"get">) : fail(r.code, r.error);
    }
    case "set": {
      const r = setSetting(ctx.live, req.key, req.value);
      if (!r.ok) return fail(r.code, r.error);
      const secret = req.key === "secret";
      ctx.log.info(logEvent("set", { key: req.key, value: secret ? undefined : r.value, previous: secret ? undefined : r.previous }, `control: set ${req.key} ${r.value} (was ${r.previous})${secret ? "; new handshakes only" : ""}`));
      return ok({ key: req.key, value: r.value, previous: r.previous } satisfies ResultOf<"set">);
    }
    case "kick":
      return kick(ctx, req);
    case "reload":
      return reload(ctx, "control socket");
    case "capture-start":
      return captureStart(ctx, req);
    case "capture-stop":
      return captureStop(ctx, req.target);
    case "lockouts":
    case "unlock":
      return lockouts(ctx, req);
    case "wg-info":
    case "wg-sync":
    case "wg-show":
      return handleWg({ server: ctx.server, config: ctx.config, log: ctx.log, wallOffset: ctx.wallOffset }, req);
  }
}

function kick(ctx: CommandContext, req: Extract<Request, { cmd: "kick" }>): Response {
  const sel = selectSessions(ctx.server.sessions.all(), req.target, req.all === true);
  if (!sel.ok) return fail(sel.code, sel.multi ? `${sel.error}, or kick them all with --all` : sel.error);
  const kicked = sel.sessions.map((s) => ({ id: s.label, address: formatIpv4(s.addr4) }));
  const banSec = req.banSec ?? 0;
  for (const s of sel.sessions) {
    const fields = { ...sessionFields(s), by: "control", banSec: banSec > 0 ? banSec : undefined };
    ctx.log.info(logEvent("kicked", fields, `control: kick ${s.label} (${formatIpv4(s.addr4)})${banSec > 0 ? ` banned for ${banSec} s` : ""}`));
    ctx.server.kick(s, "kicked", banSec * 1000);
  }
  return ok({ kicked, ...(banSec > 0 ? { banSec } : {}) } satisfies ResultOf<"kick">);
}

/**
 * `capture start`: without --file into --capture-dir, else `<stateDir>/captures` (created,
 * mode 0700): not /tmp, which the systemd unit's PrivateTmp hides; stateDir is its
 * StateDirectory.
 */
function captureStart(ctx: CommandContext, req: Request & { cmd: "capture-start" }): Response {
  const sel = selectSessions(ctx.server.sessions.all(), req.target);
  if (!sel.ok) return fail(sel.code, sel.error);
  const s = sel.sessions[0] as Session;
  const file = resolve(req.file ?? capturePath(ctx.config.captureDir ?? join(ctx.config.stateDir, "captures"), s.label, Date.now()));
  const maxBytes = req.maxBytes ?? ctx.live.capture.maxBytes;
  try {
    if (req.file === undefined) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const i = ctx.captures.start(s, file, maxBytes, req.file === undefined);
    if (ctx.keeper !== null && dirname(i.file) === ctx.keeper.dir) ctx.keeper.started();
    return ok({ id: i.id, file: i.file, maxBytes: i.maxBytes } satisfies ResultOf<"capture-start">);
  } catch (e) {
    return fail("ERR_CAPTURE", e instanceof Error ? e.message : String(e));
  }
}

async function captureStop(ctx: CommandContext, target: string): Promise<Response> {
  const sel = selectSessions(ctx.server.sessions.all(), target);
  if (!sel.ok) return fail(sel.code, sel.error);
  const s = sel.sessions[0] as Session;
  const i = await ctx.captures.stop(s);
  if (i === null) return fail("ERR_NOT_FOUND", `${s.label} is not being captured`);
  return ok({ id: i.id, file: i.file, packets: i.packets, bytes: i.bytes, dropped: i.dropped } satisfies ResultOf<"capture-stop">);
}

function lockouts(ctx: CommandContext, req: Extract<Request, { cmd: "lockouts" | "unlock" }>): Response {
  if (req.cmd === "lockouts") {
    const list = ctx.server.lockouts().map((l) => ({ protocol: l.protocol, source: l.source, leftSec: Math.ceil(l.leftMs / 1000) }));
    return ok({ lockouts: list } satisfies ResultOf<"lockouts">);
  }
  const source = req.source.replace(/\/\d+$/, "");
  if (parseIpv4(source) === null && parseIpv6(source) === null) return fail("ERR_BAD_VALUE", `unlock: expected an IPv4 address, or an IPv6 address or /64 (got ${JSON.stringify(req.source)})`);
  const unlocked = ctx.server.unlock(source);
  ctx.log.info(logEvent("unlock", { source: req.source, unlocked }, `control: unlock ${req.source}${unlocked ? "" : " (was not locked out)"}`));
  return ok({ source: req.source, unlocked } satisfies ResultOf<"unlock">);
}

/**
 * Re-reads the configuration and applies what can change live (sessions stay up).
 * Used by the `reload` request and by SIGHUP (`source` says which, for the log).
 */
export function reload(ctx: CommandContext, source: string): Response {
  ctx.service?.reloading();
  const r = reloadNow(ctx, source);
  ctx.service?.ready(r.ok ? `reloaded (${source})` : `reload (${source}) failed, running as before`);
  return r;
}

function reloadNow(ctx: CommandContext, source: string): Response {
  let next: ServerConfig;
  try {
    next = ctx.reloadConfig();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.log.warn(logEvent("reload", { source, ok: false, error: msg }, `reload (${source}) failed, nothing changed: ${msg}`));
    return fail("ERR_CONFIG", msg);
  } finally {
    ctx.live.setLive({ key: "reloadAuth" }); // users / key / revocation files, whatever the config file's fate
  }
  const plan = planReload(ctx.config, next);
  for (const c of plan.changed) {
    const error = applyValue(ctx.live, c.key, next[c.key]);
    if (error !== null) ctx.log.warn(`reload (${source}): ${c.key} not applied: ${error}`);
  }
  ctx.config = configAfterReload(ctx.config, next, plan);
  const file = ctx.configFile;
  const changed = plan.changed.map((c) => `${c.key} ${c.from} -> ${c.to}`).join(", ") || "nothing";
  const restart = plan.restart.length ? `; needs a restart: ${plan.restart.join(", ")}` : "";
  const fields = { source, ok: true, file, changed: plan.changed.map((c) => c.key), restart: plan.restart.map(String) };
  ctx.log.info(logEvent("reload", fields, `reload (${source}${file ? `, ${basename(file)}` : ""}): changed ${changed}${restart}`));
  return ok({
    file,
    changed: plan.changed.map((c) => ({ key: c.key, from: c.from, to: c.to })),
    restart: plan.restart.map(String),
  } satisfies ResultOf<"reload">);
}

/** admin/settings: set/get validated by the config schema, and the reload plan. */
import { describe, expect, test } from "bun:test";
import { configAfterReload, getSetting, type LiveTarget, planReload, setSetting } from "../../../src/admin/settings.ts";
import { validate } from "../../../src/config/load.ts";
import { ServerConfigSchema } from "../../../src/config/server-schema.ts";
import type { LiveChange, LiveResult, LiveSettings } from "../../../src/server/server.ts";

/** A stand-in for the server's live settings: records secrets, validates like Server.setLive. */
function target(opts: { secretDoor?: boolean } = {}): LiveTarget & { secrets: string[]; state: LiveSettings } {
  const state: LiveSettings = { logLevel: "info", idleTimeout: 180, isolate: false, maxClients: 0 };
  const secrets: string[] = [];
  const setLive = (c: LiveChange): LiveResult => {
    if (c.key === "secret") {
      if (opts.secretDoor === false) return { ok: false, error: "no front door uses a shared secret" };
      secrets.push(c.value);
    } else if (c.key !== "reloadAuth") (state as unknown as Record<string, unknown>)[c.key] = c.value;
    return { ok: true };
  };
  return { state, secrets, live: () => ({ ...state }), setLive, hooks: { onConnect: null, onDisconnect: null }, capture: { maxBytes: 1 << 20, dirMaxBytes: 1 << 30 } };
}

const cfg = (o: Record<string, unknown> = {}) => validate(ServerConfigSchema, { secret: "abc", ...o });

describe("set / get", () => {
  test("each key, validated like the config file", () => {
    const t = target();
    expect(setSetting(t, "log-level", "debug")).toEqual({ ok: true, value: "debug", previous: "info" });
    expect(setSetting(t, "idle-timeout", "60")).toEqual({ ok: true, value: "60", previous: "180" });
    expect(t.state.idleTimeout).toBe(60);
    expect(setSetting(t, "isolate", "yes")).toEqual({ ok: true, value: "true", previous: "false" });
    expect(setSetting(t, "max-clients", "12")).toEqual({ ok: true, value: "12", previous: "0" });
    expect(getSetting(t, "max-clients")).toEqual({ ok: true, value: "12" });
    expect(setSetting(t, "idle-timeout", "3")).toMatchObject({ ok: false, code: "ERR_BAD_VALUE", error: expect.stringContaining("idle-timeout: expected seconds from 10 to 86400") });
    expect(setSetting(t, "log-level", "loud")).toMatchObject({ ok: false, error: expect.stringContaining("log-level: expected one of silent") });
    expect(setSetting(t, "isolate", "maybe")).toMatchObject({ ok: false });
  });

  test("the secret is write-only and never echoed", () => {
    const t = target();
    const r = setSetting(t, "secret", "hunter2-new");
    expect(r).toEqual({ ok: true, value: "(hidden)", previous: "(hidden)" });
    expect(t.secrets).toEqual(["hunter2-new"]);
    expect(getSetting(t, "secret")).toMatchObject({ ok: false, code: "ERR_WRITE_ONLY" });
    expect(JSON.stringify(setSetting(t, "secret", ""))).not.toContain("hunter2");
    expect(setSetting(target({ secretDoor: false }), "secret", "x")).toMatchObject({ ok: false, code: "ERR_UNSUPPORTED" });
  });
});

describe("reload plan", () => {
  test("live keys change, others need a restart, unchanged keys are left alone", () => {
    const old = cfg({ idleTimeout: 180, mtu: 1400 });
    const next = cfg({ idleTimeout: 90, mtu: 1300, isolate: true, pool: "10.9.0.0/24", secret: "new" });
    const plan = planReload(old, next);
    expect(plan.changed).toEqual([
      { key: "secret", from: "(hidden)", to: "(changed)" },
      { key: "isolate", from: "false", to: "true" },
      { key: "idleTimeout", from: "180", to: "90" },
    ]);
    expect(plan.restart).toEqual(["pool", "mtu"]);
    expect(JSON.stringify(plan)).not.toContain('"new"');
    expect(planReload(old, cfg({ idleTimeout: 180, mtu: 1400 }))).toEqual({ changed: [], restart: [] });
  });

  test("keys needing a restart keep their running value, so the next reload reports them again", () => {
    const old = cfg({ mtu: 1400 });
    const next = cfg({ mtu: 1300, idleTimeout: 60 });
    const after = configAfterReload(old, next, planReload(old, next));
    expect(after.mtu).toBe(1400);
    expect(after.idleTimeout).toBe(60);
    expect(planReload(after, next).restart).toEqual(["mtu"]);
  });
});

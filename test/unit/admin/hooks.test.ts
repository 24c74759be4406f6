/** admin/hooks: environment, and real `sh -c` runs: success, failure, time limit. */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_HOOK_PATH, hookBaseEnv, hookEnv, type HookOutcome, Hooks } from "../../../src/admin/hooks.ts";
import type { Session } from "../../../src/server/session.ts";
import { quietLogger, recordingLogger } from "../../lib/log.ts";

const session = {
  serial: 3, deviceId: "phone1", user: null, label: "phone1", address: "::ffff:192.0.2.10", port: 40001, protocol: "toyvpn",
  addr4: (10 << 24) | (8 << 16) | 2, addr6: null, rxBytes: 1234, txBytes: 5678, rxPackets: 9, txPackets: 11,
} as unknown as Session;

describe("hooks", () => {
  test("environment for connect and disconnect", () => {
    expect(hookEnv(session, "connect")).toEqual({
      WARREN_EVENT: "connect", WARREN_CLIENT_ID: "phone1", WARREN_CLIENT_ADDR: "10.8.0.2", WARREN_CLIENT_ADDR6: "",
      WARREN_ENDPOINT: "192.0.2.10:40001", WARREN_DEVICE_ID: "phone1", WARREN_USER: "", WARREN_PROTOCOL: "toyvpn",
    });
    const peer = { ...session, protocol: "wireguard", deviceId: "anna-phone", label: "anna-phone", port: 51820 } as unknown as Session;
    expect(hookEnv(peer, "connect")).toMatchObject({ WARREN_PROTOCOL: "wireguard", WARREN_CLIENT_ID: "anna-phone", WARREN_ENDPOINT: "192.0.2.10:51820" });
    expect(hookEnv(session, "disconnect", "kicked", 61.4)).toMatchObject({
      WARREN_REASON: "kicked", WARREN_BYTES_IN: "1234", WARREN_BYTES_OUT: "5678", WARREN_PACKETS_IN: "9", WARREN_PACKETS_OUT: "11", WARREN_DURATION: "61",
    });
  });

  test("runs through sh -c with the environment; failures and time-outs are logged, never thrown", async () => {
    const log = recordingLogger();
    const hooks = new Hooks(log, { onConnect: 'test "$WARREN_CLIENT_ADDR" = 10.8.0.2', onDisconnect: "echo boom >&2; exit 3", timeoutMs: 300 });
    const outcomes: HookOutcome[] = [];
    hooks.onOutcome = (o) => outcomes.push(o);
    hooks.connected(session);
    hooks.disconnected(session, "idle", 5);
    await hooks.drain();
    expect(outcomes.map((o) => [o.event, o.exitCode])).toEqual(expect.arrayContaining([["connect", 0], ["disconnect", 3]]));
    expect(log.lines).toContain("warn hook disconnect for phone1 failed: exit 3: boom");

    hooks.onConnect = "sleep 5";
    const t0 = Date.now();
    hooks.connected(session);
    await hooks.drain();
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(log.lines).toContain("warn hook connect for phone1 killed after 300 ms");
  });

  test("no command, no process", async () => {
    const hooks = new Hooks(quietLogger);
    hooks.connected(session);
    expect(hooks.pending).toBe(0);
  });

  test("the server's secrets stay put: a hook sees the allowlist and its WARREN_* variables, nothing else", async () => {
    const planted = { WARREN_SECRET: "hunter2-secret", GITHUB_TOKEN: "ghp-token-value", AWS_SECRET_ACCESS_KEY: "aws-key-value", DB_PASSWORD: "db-pass-value", WARREN_STATE_DIR: "/tmp/x", FOO: "bar" };
    const saved = Object.fromEntries(Object.keys(planted).map((k) => [k, process.env[k]]));
    Object.assign(process.env, planted);
    const dir = mkdtempSync(join(tmpdir(), "warren-hook-env-"));
    try {
      const log = recordingLogger();
      const out = join(dir, "env.txt");
      const hooks = new Hooks(log, { onConnect: `env > ${out}` });
      hooks.connected(session);
      await hooks.drain();
      const text = readFileSync(out, "utf8");
      for (const value of Object.values(planted)) expect(text).not.toContain(value);
      const names = text.split("\n").map((l) => l.split("=")[0]).filter((n) => n !== "" && n !== undefined);
      const allowed = new Set(["PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "TMPDIR", "WARREN_CONTROL_SOCKET", "PWD", "SHLVL", "_", "OLDPWD"]);
      for (const n of names) expect(allowed.has(n as string) || n?.startsWith("LC_") || Object.hasOwn(hookEnv(session, "connect"), n as string)).toBe(true);
      expect(text).toContain("WARREN_CLIENT_ID=phone1");
      expect(text).toContain(`PATH=${process.env.PATH}`);
    } finally {
      for (const [k, val] of Object.entries(saved)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("hookBaseEnv: allowlist plus LC_*, a default PATH", () => {
    expect(hookBaseEnv({ WARREN_SECRET: "x", HOME: "/root", LC_ALL: "C", API_KEY: "k", LANG: "C.UTF-8" })).toEqual({ PATH: DEFAULT_HOOK_PATH, HOME: "/root", LC_ALL: "C", LANG: "C.UTF-8" });
    expect(hookBaseEnv({ PATH: "/bin" }).PATH).toBe("/bin");
  });
});

/**
 * packaging/warren.service against the server's default paths: under ProtectSystem=strict the
 * server may write only below its ReadWritePaths and the directories systemd makes for it
 * (StateDirectory, RuntimeDirectory, LogsDirectory). Every file the server creates by default
 * must be there (a key file in /etc failed the first start with EROFS), and what it only reads
 * (config, users, WireGuard peers) must not be, so a compromised server cannot rewrite them.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_USERS_FILE } from "../../src/cli/user.ts";
import { DEFAULT_LOG_FILE, DEFAULT_PID_FILE } from "../../src/cli/watchdog.ts";
import { DEFAULT_CONTROL_SOCKET } from "../../src/config/ops-schema.ts";
import { DEFAULT_WG_KEY_FILE, DEFAULT_WG_PEERS_FILE } from "../../src/config/wg-schema.ts";
import { DEFAULT_SERVER_STATE_DIR } from "../../src/platform/linux/lease-file.ts";

const UNIT = readFileSync(resolve(import.meta.dir, "../../packaging/warren.service"), "utf8");

/** The values of `key=` lines of the unit, split on spaces. */
function values(key: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].flatMap((m) => (m[1] as string).trim().split(/\s+/));
}

/** Where the service may write: ReadWritePaths (a leading '-' only means "may be missing") and systemd's own directories. */
function writableRoots(): string[] {
  return [
    ...values("ReadWritePaths").map((p) => p.replace(/^-/, "")),
    ...values("StateDirectory").map((d) => join("/var/lib", d)),
    ...values("RuntimeDirectory").map((d) => join("/run", d)),
    ...values("LogsDirectory").map((d) => join("/var/log", d)),
  ];
}

const writable = (path: string) => writableRoots().some((root) => path === root || path.startsWith(`${root}/`));

describe("the systemd unit and the server's default paths", () => {
  test("the unit is strict: the whole file system read-only but for its own directories", () => {
    expect(values("ProtectSystem")).toEqual(["strict"]);
    expect(writableRoots().sort()).toEqual(["/run/warren", "/run/warren", "/var/lib/warren", "/var/log/warren", "/var/log/warren"]);
  });

  test("what the server creates by default is writable: state (leases, captures), WireGuard key, control socket, pid file, log", () => {
    const created = { DEFAULT_SERVER_STATE_DIR, DEFAULT_WG_KEY_FILE, DEFAULT_CONTROL_SOCKET, DEFAULT_PID_FILE, DEFAULT_LOG_FILE };
    expect(Object.entries(created).filter(([, p]) => !writable(p))).toEqual([]);
  });

  test("what it only reads is not: the config, the users file, the WireGuard peers file", () => {
    const read = { config: "/etc/warren/warren.json", DEFAULT_USERS_FILE, DEFAULT_WG_PEERS_FILE };
    expect(Object.entries(read).filter(([, p]) => writable(p))).toEqual([]);
    expect(UNIT).toContain("--config /etc/warren/warren.json");
  });
});

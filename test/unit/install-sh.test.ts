/**
 * @module install-sh.test
 * install.sh without a release (the full install runs in test/e2e/install.test.ts):
 * shellcheck-clean POSIX sh, --help, --print-unit equal to packaging/warren.service,
 * one-line usage errors with exit 2, an unknown architecture refused, and a dry run
 * that writes nothing. Every run gets a temp root for all the directories it could touch.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const SCRIPT = join(ROOT, "install.sh");
const TMP = mkdtempSync(join(tmpdir(), "warren-install-sh-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function installSh(args: string[], extra: Record<string, string> = {}) {
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: TMP, WARREN_NO_START: "1", WARREN_BASE_URL: "http://127.0.0.1:9",
    PREFIX: join(TMP, "usr"), CONFDIR: join(TMP, "etc/warren"), SYSTEMD_DIR: join(TMP, "systemd"), CRON_DIR: join(TMP, "cron.d"),
    RUN_DIR: join(TMP, "run"), LOG_DIR: join(TMP, "log"), ...extra,
  };
  const r = Bun.spawnSync(["sh", SCRIPT, ...args], { env, cwd: TMP, stdin: "ignore", timeout: 20_000 });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("install.sh", () => {
  test("is shellcheck-clean as POSIX sh", () => {
    const sc = Bun.which("shellcheck");
    if (!sc) {
      if (process.env.CI) throw new Error("shellcheck is not installed (Debian package shellcheck; test/setup.sh installs it)");
      console.warn("*** SKIPPING shellcheck of install.sh: shellcheck not installed (apt install shellcheck) ***");
      return;
    }
    const r = Bun.spawnSync([sc, "-s", "sh", SCRIPT], { timeout: 30_000 });
    expect(r.stdout.toString()).toBe("");
    expect(r.exitCode).toBe(0);
  });

  test("--help prints the usage", () => {
    const r = installSh(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("usage: install.sh");
  });

  test("--print-unit with the default paths is packaging/warren.service", () => {
    const r = installSh(["--print-unit"], { PREFIX: "/usr/local", CONFDIR: "/etc/warren" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, "packaging/warren.service"), "utf8"));
    for (const key of ["Restart=on-failure", "AmbientCapabilities=CAP_NET_ADMIN", "ExecReload=/bin/kill -HUP $MAINPID", "DeviceAllow=/dev/net/tun rw", "ProtectSystem=strict"]) {
      expect(r.stdout).toContain(key);
    }
  });

  test("usage errors are one line and exit 2", () => {
    for (const args of [["--frobnicate"], ["--purge"]]) {
      const r = installSh(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toStartWith("install.sh: error: ");
    }
  });

  test("an unknown architecture is refused in one line", () => {
    const r = installSh([], { WARREN_ARCH: "mips" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("install.sh: error: WARREN_ARCH must be x64 or arm64, not mips\n");
  });

  test("--dry-run says what it would do and creates nothing", () => {
    const r = installSh(["--cron", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would download http://127.0.0.1:9/warren-linux-");
    expect(r.stdout).toContain(`would write ${join(TMP, "cron.d/warren")}`);
    expect(r.stdout).toContain("dry run: nothing was changed");
    expect(readdirSync(TMP)).toEqual([]);
  });
});

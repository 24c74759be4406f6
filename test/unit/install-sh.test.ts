/**
 * @module install-sh.test
 * install.sh without a release (the full install runs in test/e2e/install.test.ts):
 * shellcheck-clean POSIX sh, --help, --print-unit equal to packaging/warren.service,
 * --print-client-unit equal to packaging/warren-client@.service,
 * one-line usage errors with exit 2, an unknown architecture refused, and a dry run
 * that writes nothing. Every run gets a temp root for all the directories it could touch.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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

  test("--print-client-unit with the default paths is packaging/warren-client@.service", () => {
    const r = installSh(["--print-client-unit"], { PREFIX: "/usr/local", CONFDIR: "/etc/warren" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(readFileSync(join(ROOT, "packaging/warren-client@.service"), "utf8"));
    expect(r.stdout.split("\n")[1]).toBe("# Installed by warren install.sh");
    for (const key of [
      "ExecStart=/usr/local/bin/warren client --config /etc/warren/client-%i.json --retry forever", "Restart=always", "RestartPreventExitStatus=2",
      "RuntimeDirectoryPreserve=yes", "AmbientCapabilities=CAP_NET_ADMIN\n", "CapabilityBoundingSet=CAP_NET_ADMIN\n", "DeviceAllow=/dev/net/tun rw",
      "ProtectSystem=strict", "NoNewPrivileges=yes",
    ]) {
      expect(r.stdout).toContain(key);
    }
    const custom = installSh(["--print-client-unit"], { PREFIX: "/opt/w", CONFDIR: "/srv/wcfg" });
    expect(custom.stdout).toContain("ExecStart=/opt/w/bin/warren client --config /srv/wcfg/client-%i.json --retry forever");
  });

  test("--client --dry-run: the binary and the template only, nothing written", () => {
    const r = installSh(["--client", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would write ${join(TMP, "systemd/warren-client@.service")}`);
    expect(r.stdout).not.toContain("warren.json");
    expect(r.stdout).not.toContain("cron.d");
    expect(r.stdout).toContain("dry run: nothing was changed");
    expect(readdirSync(TMP)).toEqual([]);
  });

  test("usage errors are one line and exit 2", () => {
    for (const args of [["--frobnicate"], ["--purge"], ["--client", "--cron"], ["--systemd", "--client"]]) {
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

  test("the config (with the secret) is 0600 from its first byte, not 0644 until a chmod", () => {
    // A local "release": a stand-in binary and its SHA256SUMS; `mktemp` is wrapped to record
    // the mode of every file it creates, right after creating it (before anything is in it).
    const rel = join(TMP, "release");
    const wrap = join(TMP, "wrap");
    mkdirSync(rel);
    mkdirSync(wrap);
    const bin = "#!/bin/sh\necho warren 0.0.0-test\n";
    writeFileSync(join(rel, "warren-linux-x64"), bin);
    writeFileSync(join(rel, "SHA256SUMS"), `${new Bun.CryptoHasher("sha256").update(bin).digest("hex")}  warren-linux-x64\n`);
    const modes = join(TMP, "cp-modes.txt");
    writeFileSync(join(wrap, "mktemp"), `#!/bin/sh\ndst=$(${Bun.which("mktemp")} "$@") || exit $?\nprintf '%s %s\\n' "$(stat -c %a "$dst")" "$dst" >> ${modes}\necho "$dst"\n`);
    chmodSync(join(wrap, "mktemp"), 0o755);
    const root = join(TMP, "inst");
    const r = installSh(["--no-service"], {
      PATH: `${wrap}:${process.env.PATH ?? "/usr/bin:/bin"}`, WARREN_BASE_URL: rel, WARREN_ARCH: "x64",
      PREFIX: join(root, "usr"), CONFDIR: join(root, "etc/warren"), SYSTEMD_DIR: join(root, "systemd"), CRON_DIR: join(root, "cron.d"),
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const conf = join(root, "etc/warren/warren.json");
    expect(statSync(conf).mode & 0o777).toBe(0o600);
    const created = readFileSync(modes, "utf8").trim().split("\n").map((l) => l.split(" ") as [string, string]);
    const confTmp = created.filter(([, f]) => f.includes("/etc/warren/.warren.json."));
    expect(confTmp.length).toBe(1);
    // nothing the installer creates is ever readable by group or others before its chmod
    for (const [m, f] of created.filter(([, f]) => f.startsWith(root))) expect(`${(Number.parseInt(m, 8) & 0o077).toString(8)} ${f}`).toBe(`0 ${f}`);
  });
});

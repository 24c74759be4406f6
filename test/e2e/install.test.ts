/**
 * @module install.test
 * The release files and install.sh, end to end, without root and without touching the
 * machine: the release is built once (release.ts), a Bun.serve on 127.0.0.1 serves it,
 * and install.sh runs as `curl -fsSL <base>/install.sh | sh -s -- ...` with every
 * directory it writes (PREFIX, CONFDIR, SYSTEMD_DIR, CRON_DIR, RUN_DIR, LOG_DIR) inside
 * a temp root and WARREN_NO_START=1. Idempotence is checked by comparing the whole temp
 * tree (paths, modes, sizes, mtimes, sha256) before and after a second run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DIST, ensureRelease, RELEASE_BINARIES, RELEASE_FILES } from "./release.ts";
import { REPO_ROOT, run } from "./netns.ts";

const TMP = mkdtempSync(join(tmpdir(), "warren-install-"));
const VERSION_RE = /^warren \d+\.\d+\.\d+\S* \(commit \S+, built \d{4}-\d\d-\d\d\)$/;
let http: ReturnType<typeof Bun.serve> | undefined;
let base = "";

/** Directories install.sh writes, all under `root`. */
function dirs(root: string) {
  return {
    PREFIX: join(root, "usr/local"),
    CONFDIR: join(root, "etc/warren"),
    SYSTEMD_DIR: join(root, "etc/systemd/system"),
    CRON_DIR: join(root, "etc/cron.d"),
    RUN_DIR: join(root, "run/warren"),
    LOG_DIR: join(root, "var/log/warren"),
  };
}

/** Runs `sh -c script` with only PATH, HOME and install.sh's variables set (bounded). */
async function sh(script: string, root: string, baseUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: root, LC_ALL: "C", WARREN_BASE_URL: baseUrl, WARREN_NO_START: "1", ...dirs(root) };
  const proc = Bun.spawn(["sh", "-c", script], { env, cwd: root, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** `curl -fsSL <base>/install.sh | sh -s -- ARGS`, the documented way; WARREN_BASE_URL = `from`. */
function curlInstall(root: string, args: string, from = `${base}/rel`) {
  return sh(`curl -fsSL "${base}/rel/install.sh" | sh -s -- ${args}`, root, from);
}

/** Every path under `dir` with type, mode, size, mtime and (files) sha256. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const hash = st.isFile() ? new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex") : "";
      out[p.slice(dir.length)] = `${st.mode.toString(8)} ${st.size} ${st.mtimeMs} ${hash}`;
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function newRoot(name: string): string {
  const root = join(TMP, name);
  mkdirSync(root, { recursive: true });
  return root;
}

beforeAll(async () => {
  await ensureRelease();
  const x64 = await Bun.file(join(DIST, RELEASE_BINARIES.x64)).bytes();
  const corrupt = x64.slice();
  const mid = corrupt.length >> 1;
  corrupt[mid] = (corrupt[mid] ?? 0) ^ 0xff;
  http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const m = /^\/(rel|corrupt)\/([\w.-]+)$/.exec(new URL(req.url).pathname);
      if (!m || !RELEASE_FILES.includes(m[2] ?? "")) return new Response("not found", { status: 404 });
      if (m[1] === "corrupt" && m[2] === RELEASE_BINARIES.x64) return new Response(corrupt);
      return new Response(Bun.file(join(DIST, m[2] ?? "")));
    },
  });
  base = `http://127.0.0.1:${http.port}`;
}, 300_000);

afterAll(() => {
  void http?.stop(true);
  rmSync(TMP, { recursive: true, force: true });
});

describe("release files", () => {
  test("both binaries and SHA256SUMS exist, and the sums match", async () => {
    const sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8");
    const names = sums.trim().split("\n").map((l) => l.split(/\s+/)[1]);
    expect(names).toEqual(["install.sh", RELEASE_BINARIES.arm64, RELEASE_BINARIES.x64]);
    for (const f of RELEASE_FILES) expect(statSync(join(DIST, f)).size).toBeGreaterThan(0);
    const check = await run(["sha256sum", "-c", "SHA256SUMS"], { cwd: DIST, timeoutMs: 60_000 });
    expect(check.stdout + check.stderr).not.toContain("FAILED");
    expect(check.code).toBe(0);
  });

  test("the x64 binary runs and prints version, commit and build date", async () => {
    const r = await run([join(DIST, RELEASE_BINARIES.x64), "--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(VERSION_RE);
  });

  test("`file` shows x86-64 and ARM aarch64 ELF executables", async () => {
    const x64 = await run(["file", "-b", join(DIST, RELEASE_BINARIES.x64)]);
    const arm = await run(["file", "-b", join(DIST, RELEASE_BINARIES.arm64)]);
    expect(x64.stdout).toContain("ELF 64-bit LSB executable, x86-64");
    expect(arm.stdout).toContain("ELF 64-bit LSB executable, ARM aarch64");
  });

  test("the arm64 binary runs under qemu (optional: qemu-user-static, libc6-arm64-cross)", async () => {
    const qemu = Bun.which("qemu-aarch64-static");
    if (!qemu || !existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) {
      console.warn("*** install.test: arm64 binary not run (apt install qemu-user-static libc6-arm64-cross to run it) ***");
      return;
    }
    const r = await run([qemu, "-L", "/usr/aarch64-linux-gnu", join(DIST, RELEASE_BINARIES.arm64), "--version"], { timeoutMs: 120_000 });
    expect(r.stdout.trim()).toMatch(VERSION_RE);
  }, 130_000);
});

describe("install.sh from a local HTTP server", () => {
  const root = newRoot("main");
  const d = dirs(root);
  const conf = join(d.CONFDIR, "warren.json");
  const cron = join(d.CRON_DIR, "warren");
  const unit = join(d.SYSTEMD_DIR, "warren.service");
  const bin = join(d.PREFIX, "bin/warren");

  test("curl | sh --cron installs the binary, a config with a secret, and the cron line", async () => {
    const r = await curlInstall(root, "--cron");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const v = await run([bin, "--version"]);
    expect(v.stdout.trim()).toMatch(VERSION_RE);
    const cfg = JSON.parse(readFileSync(conf, "utf8")) as { secret: string; listen: string };
    expect(cfg.secret).toMatch(/^[A-Za-z0-9]{22}$/);
    expect(cfg.listen).toBe("[::]:8000");
    expect(statSync(conf).mode & 0o777).toBe(0o600);
    const line = readFileSync(cron, "utf8").split("\n").find((l) => l.startsWith("* * * * *"));
    expect(line).toBe(`* * * * * root ${bin} watchdog --config ${conf} --pid-file ${d.RUN_DIR}/warren.pid --log-file ${d.LOG_DIR}/warren.log`);
    expect(r.stdout).toContain(`Shared Secret ${cfg.secret}`);
    expect(r.stdout).toContain("Server Port 8000");
  });

  test("a second run changes nothing", async () => {
    const before = snapshot(root);
    const r = await curlInstall(root, "--cron");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`unchanged ${bin}`);
    expect(r.stdout).toContain(`kept existing ${conf}`);
    expect(snapshot(root)).toEqual(before);
  });

  test("a corrupted binary is refused by the checksum, and nothing changes", async () => {
    const before = snapshot(root);
    const r = await curlInstall(root, "--cron", `${base}/corrupt`);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^install\.sh: error: checksum mismatch for warren-linux-x64 \(expected [0-9a-f]{64}, got [0-9a-f]{64}\): refusing to install$/m);
    expect(snapshot(root)).toEqual(before);
  });

  test("--dry-run prints what it would do and changes nothing", async () => {
    const before = snapshot(root);
    const r = await curlInstall(root, "--systemd --dry-run");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`would write ${unit}`);
    expect(r.stdout).toContain(`would remove ${cron}`);
    expect(r.stdout).toContain("dry run: nothing was changed");
    expect(snapshot(root)).toEqual(before);
  });

  test("--systemd writes the unit (as --print-unit shows it) and removes the cron file", async () => {
    const r = await curlInstall(root, "--systemd");
    expect(r.code).toBe(0);
    const printed = await sh(`sh ${join(REPO_ROOT, "install.sh")} --print-unit`, root, base);
    expect(readFileSync(unit, "utf8")).toBe(printed.stdout);
    expect(printed.stdout).toContain(`ExecStart=${bin} server --config ${conf} --pid-file /run/warren/warren.pid`);
    expect(() => statSync(cron)).toThrow();
    const analyze = Bun.which("systemd-analyze");
    if (!analyze) {
      console.warn("*** install.test: systemd-analyze not found (Debian package systemd): unit not verified ***");
      return;
    }
    const verify = await run([analyze, "verify", "--man=no", unit], { timeoutMs: 30_000 });
    expect(verify.stderr.trim()).toBe("");
    expect(verify.code).toBe(0);
  });

  test("--uninstall removes the binary and the unit and keeps the config; --purge removes it", async () => {
    const r = await curlInstall(root, "--uninstall");
    expect(r.code).toBe(0);
    expect(() => statSync(bin)).toThrow();
    expect(() => statSync(unit)).toThrow();
    expect(statSync(conf).isFile()).toBe(true);
    expect(r.stdout).toContain(`kept ${conf}`);
    const p = await sh(`sh ${join(REPO_ROOT, "install.sh")} --uninstall --purge`, root, base);
    expect(p.code).toBe(0);
    expect(() => statSync(conf)).toThrow();
    expect(() => statSync(d.CONFDIR)).toThrow();
  });
});

describe("install.sh --client", () => {
  const root = newRoot("client");
  const d = dirs(root);
  const template = join(d.SYSTEMD_DIR, "warren-client@.service");
  const bin = join(d.PREFIX, "bin/warren");

  test("curl | sh --client installs the binary and the warren-client@ template, no server config or service", async () => {
    const r = await curlInstall(root, "--client");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await run([bin, "--version"])).stdout.trim()).toMatch(VERSION_RE);
    const printed = await sh(`sh ${join(REPO_ROOT, "install.sh")} --print-client-unit`, root, base);
    expect(readFileSync(template, "utf8")).toBe(printed.stdout);
    expect(printed.stdout).toContain(`ExecStart=${bin} client --config ${d.CONFDIR}/client-%i.json --retry forever`);
    expect(statSync(template).mode & 0o777).toBe(0o644);
    expect(readdirSync(d.SYSTEMD_DIR)).toEqual(["warren-client@.service"]);
    expect(existsSync(d.CONFDIR)).toBe(false);
    expect(existsSync(d.CRON_DIR)).toBe(false);
    expect(r.stdout).toContain(`configure  write ${d.CONFDIR}/client-NAME.json`);
    expect(r.stdout).toContain("systemctl enable --now warren-client@NAME");
    const analyze = Bun.which("systemd-analyze");
    if (!analyze) {
      console.warn("*** install.test: systemd-analyze not found (Debian package systemd): client template not verified ***");
      return;
    }
    const verify = await run([analyze, "verify", "--man=no", template], { timeoutMs: 30_000 });
    expect(verify.stderr.trim()).toBe("");
    expect(verify.code).toBe(0);
  });

  test("a second run changes nothing", async () => {
    const before = snapshot(root);
    const r = await curlInstall(root, "--client");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`unchanged ${template}`);
    expect(snapshot(root)).toEqual(before);
  });

  test("--uninstall removes the template and the links of enabled instances", async () => {
    const wants = join(d.SYSTEMD_DIR, "multi-user.target.wants");
    mkdirSync(wants, { recursive: true });
    symlinkSync(template, join(wants, "warren-client@office.service"));
    const r = await curlInstall(root, "--uninstall");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`removed ${join(wants, "warren-client@office.service")}`);
    expect(r.stdout).toContain(`removed ${template}`);
    expect(readdirSync(wants)).toEqual([]);
    expect(existsSync(template)).toBe(false);
    expect(existsSync(bin)).toBe(false);
  });
});

describe("install.sh, other sources and failures", () => {
  test("installs from a local directory (file://) with --no-service", async () => {
    const root = newRoot("local");
    const d = dirs(root);
    const r = await sh(`sh ${join(DIST, "install.sh")} --no-service`, root, `file://${DIST}`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await run([join(d.PREFIX, "bin/warren"), "--version"])).stdout.trim()).toMatch(VERSION_RE);
    expect(readdirSync(root).sort()).toEqual(["etc", "usr"]);
    expect(readdirSync(join(root, "etc"))).toEqual(["warren"]);
  });

  test("an unreachable server and a missing file fail with one line each", async () => {
    const root = newRoot("fail");
    const down = await curlInstall(root, "--cron", `${base}/nothing-here`);
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split("\n")).toEqual([`install.sh: error: cannot download ${base}/nothing-here/SHA256SUMS (curl failed)`]);
    const refused = await sh(`sh ${join(REPO_ROOT, "install.sh")}`, root, "http://127.0.0.1:9");
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
  });
});

/**
 * @module release
 * The release files (`bun run build:release` -> dist/warren-linux-x64, warren-linux-arm64,
 * install.sh, SHA256SUMS), built at most once per test run and only when missing or older
 * than src/, build.ts, package.json or install.sh. Shared by install.test.ts and
 * watchdog.test.ts (one `bun test` process, so one build). The first build fetches the
 * Bun runtimes with `npm pack` (~50 MB each, cached under node_modules/.cache).
 */
import { chmodSync, copyFileSync, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { BUN, newestMtime, REPO_ROOT, run } from "./netns.ts";

/** dist/, where the release files land. */
export const DIST = join(REPO_ROOT, "dist");
/** Names of the release binaries, by architecture. */
export const RELEASE_BINARIES = { x64: "warren-linux-x64", arm64: "warren-linux-arm64" } as const;
/** Every file of a release. */
export const RELEASE_FILES = [RELEASE_BINARIES.x64, RELEASE_BINARIES.arm64, "install.sh", "SHA256SUMS"];

let release: Promise<string> | undefined;

/** Builds the release files when missing or stale (once per run); resolves to DIST. */
export function ensureRelease(): Promise<string> {
  release ??= buildRelease();
  return release;
}

async function buildRelease(): Promise<string> {
  const sums = join(DIST, "SHA256SUMS");
  const built = RELEASE_FILES.every((f) => existsSync(join(DIST, f))) ? statSync(sums).mtimeMs : 0;
  const inputs = ["build.ts", "package.json", "install.sh"].map((f) => join(REPO_ROOT, f)).filter(existsSync);
  const newest = Math.max(newestMtime(join(REPO_ROOT, "src")), ...inputs.map((f) => statSync(f).mtimeMs));
  if (built > 0 && built >= newest) return DIST;
  const r = await run([BUN, "build.ts", "--release"], { cwd: REPO_ROOT, timeoutMs: 300_000 });
  if (r.code !== 0 || !RELEASE_FILES.every((f) => existsSync(join(DIST, f)))) {
    throw new Error(`'bun build.ts --release' failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}):\n${r.stdout}\n${r.stderr}`);
  }
  return DIST;
}

/**
 * A private copy of the x64 release binary at `dest` (so a rebuild of dist/ during the
 * run cannot change the program a test is running). Returns `dest`.
 */
export async function copyReleaseBinary(dest: string): Promise<string> {
  const dist = await ensureRelease();
  copyFileSync(join(dist, RELEASE_BINARIES.x64), dest);
  chmodSync(dest, 0o755);
  return dest;
}

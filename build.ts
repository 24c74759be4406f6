/**
 * @module build
 * `bun run build`: compiles src/main.ts (and the TUN poll worker, which must be its
 * own entrypoint inside a compiled binary) into the single executable dist/warren.
 * Minified, with bytecode (ESM, since bytecode defaults to CJS) and an embedded
 * sourcemap: BUN-NOTES §5 measured 17-18 ms startup for that combination.
 *
 * `bun run build:release` (`bun build.ts --release`): the same program for every
 * RELEASE_TARGETS entry, as dist/warren-linux-x64 and dist/warren-linux-arm64, plus
 * dist/install.sh and dist/SHA256SUMS (sha256sum format): the whole download folder.
 * Cross builds are offline: the Bun runtime of each target comes from its npm package
 * (`@oven/bun-linux-*`, same version as the building Bun, which bytecode requires),
 * fetched once with `npm pack` into RUNTIME_CACHE and passed as `compile.executablePath`,
 * so Bun itself never downloads anything. `npm pack` rather than `npm install`: npm
 * refuses to install a package for another CPU (EBADPLATFORM), pack just fetches the
 * integrity-checked tarball, runs no scripts and leaves package.json and the lockfile alone.
 * Binaries are compiled into a staging folder and renamed into dist/, so a running
 * copy or a concurrent reader never sees a half-written file.
 */

import { $ } from "bun";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/** One release binary: file name suffix, Bun compile target, npm package of its runtime. */
export interface ReleaseTarget {
  name: string;
  bunTarget: Bun.Build.CompileTarget;
  runtimePackage: string;
}

/**
 * The release binaries. No `-baseline` build: in Bun 1.4.4 `@oven/bun-linux-x64-baseline`
 * is an alias whose bin/bun is byte-identical to `@oven/bun-linux-x64` (same sha256,
 * checked), and the docs say the single x64 binary picks AVX2/AVX-512 paths at runtime.
 */
export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", runtimePackage: "@oven/bun-linux-x64" },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", runtimePackage: "@oven/bun-linux-aarch64" },
];

/** Repository root. */
const ROOT = import.meta.dir;
/** Where fetched runtimes live (git-ignored with node_modules/); env WARREN_RUNTIME_CACHE overrides. */
export const RUNTIME_CACHE = process.env.WARREN_RUNTIME_CACHE ?? join(ROOT, "node_modules/.cache/warren-bun-runtimes");

const ENTRYPOINTS = [join(ROOT, "src/main.ts"), join(ROOT, "src/tun/poll-worker.ts"), join(ROOT, "src/datapath/worker.ts")];

/** Compiles warren into `outfile`; for a cross target, with the runtime at `executablePath`. */
export async function compile(outfile: string, defines: Record<string, string>, target?: ReleaseTarget, executablePath?: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: ENTRYPOINTS,
    compile: {
      outfile,
      ...(target ? { target: target.bunTarget } : {}),
      ...(executablePath ? { executablePath } : {}),
      // A server binary must not pick up .env or bunfig.toml from whatever directory it runs in.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    sourcemap: "linked",
    bytecode: true,
    format: "esm",
    target: "bun",
    define: Object.fromEntries(Object.entries(defines).map(([k, v]) => [`process.env.${k}`, JSON.stringify(v)])),
  });
  if (!result.success) {
    throw new Error(`build of ${basename(outfile)} failed:\n${result.logs.map(String).join("\n")}`);
  }
}

/** Directory of the cached runtime `pkg@version` (its Bun binary is `<dir>/bin/bun`). */
export function runtimeDir(pkg: string, version: string, cache = RUNTIME_CACHE): string {
  return join(cache, `${pkg.replace(/^@/, "").replace(/\//g, "-")}-${version}`);
}

/**
 * The Bun binary of `pkg@version`, fetched with `npm pack` into the cache on first use.
 * Throws one line saying how to provide it by hand when npm cannot fetch it.
 */
export async function ensureRuntime(pkg: string, version: string, cache = RUNTIME_CACHE): Promise<string> {
  const dir = runtimeDir(pkg, version, cache);
  const bin = join(dir, "bin/bun");
  if (existsSync(bin)) return bin;
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const spec = `${pkg}@${version}`;
    const packed = await $`npm pack ${spec} --pack-destination ${tmp} --json --ignore-scripts`.nothrow().quiet();
    if (packed.exitCode !== 0) {
      const why = packed.stderr.toString().split("\n").find((l) => /npm error/.test(l)) ?? `exit ${packed.exitCode}`;
      throw new Error(`cannot fetch ${spec} with npm pack (${why.trim()}); to build offline, put its bin/bun at ${bin}`);
    }
    const info = JSON.parse(packed.stdout.toString()) as Array<{ filename: string; name: string; version: string }>;
    const tgz = info[0]?.filename;
    if (!tgz || info[0]?.name !== pkg || info[0]?.version !== version) throw new Error(`npm pack ${spec} returned ${packed.stdout.toString().slice(0, 200)}`);
    await $`tar -xzf ${join(tmp, tgz)} -C ${tmp}`.quiet();
    if (!existsSync(join(tmp, "package/bin/bun"))) throw new Error(`${spec} has no bin/bun`);
    rmSync(join(tmp, tgz));
    renameSync(join(tmp, "package"), dir);
    return bin;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** sha256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest("hex");
}

/** SHA256SUMS text (`<hex>  <name>` per line, sorted by name), as `sha256sum -c` reads it. */
export function formatSums(sums: ReadonlyMap<string, string>): string {
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, hex]) => `${hex}  ${name}\n`).join("");
}

/** Builds every release target, copies install.sh, writes SHA256SUMS. Returns the file names. */
export async function buildRelease(distDir: string, defines: Record<string, string>): Promise<string[]> {
  const stage = join(distDir, `.release-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  const names: string[] = [];
  try {
    for (const t of RELEASE_TARGETS) {
      const runtime = await ensureRuntime(t.runtimePackage, Bun.version);
      const name = `warren-${t.name}`;
      await compile(join(stage, name), defines, t, runtime);
      names.push(name);
    }
    await Bun.write(join(stage, "install.sh"), Bun.file(join(ROOT, "install.sh")));
    await $`chmod 755 ${join(stage, "install.sh")}`;
    names.push("install.sh");
    const sums = new Map<string, string>();
    for (const n of names) sums.set(n, await sha256File(join(stage, n)));
    await Bun.write(join(stage, "SHA256SUMS"), formatSums(sums));
    names.push("SHA256SUMS");
    // SHA256SUMS last, so a reader that sees the new sums also sees the new binaries.
    for (const n of names) renameSync(join(stage, n), join(distDir, n));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return names;
}

if (import.meta.main) {
  const commit = (await $`git rev-parse --short HEAD`.cwd(ROOT).nothrow().quiet().text()).trim() || "unknown";
  const date = new Date().toISOString().slice(0, 10);
  const defines = { WARREN_BUILD_COMMIT: commit, WARREN_BUILD_DATE: date };
  const dist = resolve(ROOT, "dist");
  try {
    if (process.argv.includes("--release")) {
      const names = await buildRelease(dist, defines);
      console.log(`built ${names.map((n) => `dist/${n}`).join(", ")} (commit ${commit}, ${date}, bun ${Bun.version})`);
    } else {
      await compile(join(dist, "warren"), defines);
      for (const f of new Bun.Glob("*.map").scanSync(dist)) rmSync(join(dist, f));
      console.log(`built dist/warren (commit ${commit}, ${date})`);
    }
  } catch (e) {
    console.error(`build: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

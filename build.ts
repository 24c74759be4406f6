/**
 * @module build
 * `bun run build`: compiles src/main.ts (and the TUN poll worker, which must be its
 * own entrypoint inside a compiled binary) into the single executable dist/warren.
 * Minified, with bytecode (ESM, since bytecode defaults to CJS) and an embedded
 * sourcemap: BUN-NOTES §5 measured 17-18 ms startup for that combination.
 */

import { $ } from "bun";

const commit = (await $`git rev-parse --short HEAD`.nothrow().quiet().text()).trim() || "unknown";
const date = new Date().toISOString().slice(0, 10);

const result = await Bun.build({
  entrypoints: ["./src/main.ts", "./src/tun/poll-worker.ts"],
  compile: { outfile: "./dist/warren" },
  minify: true,
  sourcemap: "linked",
  bytecode: true,
  format: "esm",
  target: "bun",
  define: {
    "process.env.WARREN_BUILD_COMMIT": JSON.stringify(commit),
    "process.env.WARREN_BUILD_DATE": JSON.stringify(date),
  },
});
if (!result.success) {
  for (const m of result.logs) console.error(m);
  process.exit(1);
}
for (const f of new Bun.Glob("dist/*.map").scanSync()) await Bun.file(f).delete();
console.log(`built dist/warren (commit ${commit}, ${date})`);

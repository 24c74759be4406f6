/**
 * @module lib/version
 * Version, commit and build date. build.ts replaces the two `process.env` reads at
 * compile time; `bun run src/main.ts` shows "dev".
 */

import pkg from "../../package.json" with { type: "json" };

/** Semantic version from package.json. */
export const VERSION: string = pkg.version;
/** Git commit the binary was built from. */
export const COMMIT: string = process.env.WARREN_BUILD_COMMIT ?? "dev";
/** UTC build date (YYYY-MM-DD). */
export const BUILD_DATE: string = process.env.WARREN_BUILD_DATE ?? "dev";

/** `warren 0.1.0 (commit abc1234, built 2026-11-22)`. */
export function versionLine(): string {
  return `warren ${VERSION} (commit ${COMMIT}, built ${BUILD_DATE})`;
}

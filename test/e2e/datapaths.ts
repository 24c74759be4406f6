/**
 * @module datapaths
 * The data paths (`warren server --data-path`) the e2e suites that move traffic run on:
 * both, each suite once per path with its own lab (tag + "f" / "s"), so the same
 * assertions hold for the simple path and the fast one. WARREN_E2E_DATA_PATHS=fast (or
 * simple) limits a local run to one of them.
 */

import { DATA_PATHS } from "../../src/config/server-schema.ts";
import { type BgProcess, waitForLog } from "./netns.ts";

/** One `--data-path` value. */
export type DataPathName = (typeof DATA_PATHS)[number];

const only = process.env.WARREN_E2E_DATA_PATHS;

/** The data paths to run suites on (both unless WARREN_E2E_DATA_PATHS names one). */
export const E2E_DATA_PATHS: readonly DataPathName[] = DATA_PATHS.filter((p) => only === undefined || only === "" || only.split(",").includes(p));

/** A lab tag per data path: `hub` -> `hubf` / `hubs`. */
export function dataPathTag(tag: string, dp: DataPathName): string {
  return `${tag}${dp === "fast" ? "f" : "s"}`;
}

/** The server arguments that choose `dp`. */
export function dataPathArgs(dp: DataPathName): string[] {
  return ["--data-path", dp];
}

/**
 * Waits for the server's log line naming its data path and checks it is `dp`: a fast
 * server that fell back to the simple path must not pass as a fast one.
 */
export async function expectDataPath(p: BgProcess, dp: DataPathName): Promise<string> {
  const line = await waitForLog(p, "data path: ", 10_000);
  if (!line.includes(`data path: ${dp}`)) throw new Error(`expected the ${dp} data path, the server says: ${line}`);
  return line;
}

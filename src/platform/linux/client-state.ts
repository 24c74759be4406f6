/**
 * @module platform/linux/client-state
 * The client's state file (`/run/warren/client-<tun>.json` by default): the routes a
 * running client has added outside its TUN, written before each one is added and
 * deleted on a clean stop, so the next start can undo what a killed run left behind.
 * Writes go to a temporary file that is renamed over the old one (atomic).
 */

import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { errorCode, WarrenError } from "../../lib/errors.ts";
import { loadStateFile, saveStateFile } from "../../lib/state-file.ts";

const RouteSchema = v.object({
  family: v.picklist([4, 6]),
  dest: v.string(),
  prefixLen: v.number(),
  dev: v.string(),
  gateway: v.optional(v.string()),
});
const StateSchema = v.object({ pid: v.number(), tun: v.string(), server: v.string(), routes: v.array(RouteSchema) });

/** What the file holds (structurally the engine's ClientState). */
export type StoredState = v.InferOutput<typeof StateSchema>;

/** Path of the state file for TUN `tun` in `dir`. */
export function statePath(dir: string, tun: string): string {
  return join(dir, `client-${tun}.json`);
}

/** True when `pid` runs a `warren ... client` command (cmdline check guards against pid reuse). */
export function isWarrenClient(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("client") && argv.some((a) => a.includes("warren") || a.endsWith("main.ts"));
  } catch {
    return false;
  }
}

/** The engine's StateStore on one JSON file. */
export class FileStateStore {
  readonly path: string;

  constructor(dir: string, tun: string) {
    this.path = statePath(dir, tun);
  }

  load(): StoredState | null {
    return loadStateFile(this.path, StateSchema);
  }

  save(state: StoredState): void {
    try {
      saveStateFile(this.path, state, { dir: 0o755, file: 0o600 });
    } catch (e) {
      const code = errorCode(e) ?? "error";
      throw new WarrenError("ERR_STATE_FILE", `cannot write the state file ${this.path}: ${code} (set --state-dir)`);
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  isAlive(pid: number): boolean {
    return isWarrenClient(pid);
  }
}

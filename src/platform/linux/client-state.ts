/**
 * @module platform/linux/client-state
 * The client's files in its state folder, all named `client-<tun>-<netns>.*` (netns: the
 * inode of the process's network namespace), so clients with different TUN names, or in
 * different namespaces sharing one /run, never touch each other's files:
 *   .json      the state file: the routes a running client has added outside its TUN,
 *              written before each one is added and deleted on a clean stop, so the next
 *              start can undo what a killed run left behind (atomic writes: temp + rename)
 *   .dns.json  the resolv.conf backup of `--dns apply` (resolvconf.ts)
 *   .sock      the control socket `warren client status` asks
 */

import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
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

/** The inode number of this process's network namespace, as text (two live namespaces never share it). */
export function netnsId(): string {
  return String(statSync("/proc/self/ns/net").ino);
}

/** `DIR/client-<tun>-<netns>`: the common stem of one client's files (see the module comment). */
export function clientFileStem(dir: string, tun: string, netns: string): string {
  return join(dir, `client-${tun}-${netns}`);
}

/** Path of the state file for TUN `tun` in network namespace `netns`. */
export function statePath(dir: string, tun: string, netns: string): string {
  return `${clientFileStem(dir, tun, netns)}.json`;
}

/** Path of the control socket of the client on TUN `tun` in network namespace `netns`. */
export function clientSocketPath(dir: string, tun: string, netns: string): string {
  return `${clientFileStem(dir, tun, netns)}.sock`;
}

/** The control sockets of this namespace's clients in `dir`, by TUN name (sorted); none when `dir` is unreadable. */
export function clientSockets(dir: string, netns: string): Array<{ tun: string; path: string }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const tail = `-${netns}.sock`;
  return names
    .filter((n) => n.startsWith("client-") && n.endsWith(tail) && n.length > 7 + tail.length)
    .sort()
    .map((n) => ({ tun: n.slice(7, -tail.length), path: join(dir, n) }));
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

  /** The file of TUN `tun` in `dir` for network namespace `netns` (this process's by default). */
  constructor(dir: string, tun: string, netns = netnsId()) {
    this.path = statePath(dir, tun, netns);
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

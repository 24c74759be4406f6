/**
 * @module client/stale
 * What a client run keeps on disk to undo its changes after a crash (the routes it added,
 * the original resolv.conf) sits behind one small store interface, written before each
 * change and removed on a clean stop. The next run finds what a killed run left and
 * undoes it, unless that run is still alive (then it refuses to start).
 */

import { WarrenError } from "../lib/errors.ts";

/** One record of what a client run changed, kept until it is undone. */
export interface RecoveryStore<T extends { pid: number; tun: string }> {
  /** Where it lives, for messages. */
  readonly path: string;
  /** The stored record, or null when there is none (or it is unreadable: then it is discarded). */
  load(): T | null;
  /** Replaces the stored record (atomically); throws a one-line error. */
  save(record: T): void;
  /** Deletes it; no error when absent. */
  remove(): void;
  /** Whether process `pid` is a running warren client other than this one. */
  isAlive(pid: number): boolean;
}

/**
 * What a run that did not stop cleanly left in `store` (null: nothing). Throws
 * ERR_CLIENT_RUNNING when that run is still alive; `what` names the file in the message.
 */
export function leftBehind<T extends { pid: number; tun: string }>(store: RecoveryStore<T>, pid: number, what: string): T | null {
  const old = store.load();
  if (old === null) return null;
  if (old.pid !== pid && store.isAlive(old.pid)) {
    throw new WarrenError("ERR_CLIENT_RUNNING", `another warren client (pid ${old.pid}) uses ${old.tun}; stop it first, or pick another --tun (${what} ${store.path})`);
  }
  return old;
}

/**
 * @module platform/linux/lease-file
 * The server's lease file, `<stateDir>/leases-<tun>.json` (mode 0600, folder 0700):
 * which device had which tunnel address, and when it last used it. Written atomically
 * (state-file.ts) by the server's LeaseKeeper, off the event loop. One file per TUN name,
 * so servers sharing a state directory keep apart. Structurally the server's LeaseStore.
 *
 *   {"version":1,"leases":[{"device":"phone-1","addr":"10.8.0.2","lastUsed":"2026-01-02T03:04:05.000Z"}, ...]}
 *
 * `device` is the device key: the device id, prefixed with `user:NAME` / `token:ID` and
 * a NUL when the client logged in with a user or token. A file that is too big, not JSON
 * or not of this shape is logged, renamed to `<file>.corrupt` for a post-mortem, and
 * ignored: the server starts with no leases rather than not at all. Entries that do not
 * validate one by one (a bad address, an unknown time) are skipped the same way.
 */

import { readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { errorCode, oneLine } from "../../lib/errors.ts";
import type { Logger } from "../../lib/log.ts";
import { formatIpv4, parseIpv4 } from "../../protocol/ip.ts";
import { saveStateFileAsync } from "../../lib/state-file.ts";

/** Default state directory of the server (persistent: leases must outlive a reboot). */
export const DEFAULT_SERVER_STATE_DIR = "/var/lib/warren";

/** Larger files are not read (far above 65536 devices with long ids). */
export const MAX_LEASE_FILE_BYTES = 64 * 1024 * 1024;

/** Longest device key accepted from the file (a handshake carries at most 1000 bytes). */
const MAX_DEVICE_KEY = 2048;

/** One lease as the server's LeaseStore sees it. */
export interface StoredLease {
  device: string;
  addr4: number;
  lastUsed: number;
}

const EntrySchema = v.object({
  device: v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_DEVICE_KEY)),
  addr: v.pipe(v.string(), v.transform(parseIpv4), v.number()),
  lastUsed: v.pipe(v.string(), v.transform(Date.parse), v.number(), v.finite()),
});
const FileSchema = v.object({ version: v.literal(1), leases: v.array(v.unknown()) });

/** Path of the lease file of TUN `tun` in `dir`. */
export function leaseFilePath(dir: string, tun: string): string {
  return join(dir, `leases-${tun}.json`);
}

/** The server's LeaseStore on one JSON file. */
export class FileLeaseStore {
  /** The lease file. */
  readonly path: string;
  readonly #log: Logger;

  constructor(dir: string, tun: string, log: Logger) {
    this.path = leaseFilePath(dir, tun);
    this.#log = log;
  }

  /** The saved leases, oldest first; [] when there is no usable file (see the module comment). */
  load(): StoredLease[] {
    let text: string;
    try {
      if (statSync(this.path).size > MAX_LEASE_FILE_BYTES) return this.#corrupt(`larger than ${MAX_LEASE_FILE_BYTES} bytes`);
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if (errorCode(e) !== "ENOENT") this.#log.warn(`leases: cannot read ${this.path} (${oneLine(e)}); starting without saved leases`);
      return [];
    }
    let doc: v.InferOutput<typeof FileSchema>;
    try {
      const r = v.safeParse(FileSchema, JSON.parse(text));
      if (!r.success) return this.#corrupt("not a warren lease file");
      doc = r.output;
    } catch (e) {
      return this.#corrupt(oneLine(e));
    }
    const out: StoredLease[] = [];
    for (const raw of doc.leases) {
      const r = v.safeParse(EntrySchema, raw);
      if (r.success) out.push({ device: r.output.device, addr4: r.output.addr, lastUsed: r.output.lastUsed });
    }
    if (out.length < doc.leases.length) this.#log.warn(`leases: skipped ${doc.leases.length - out.length} malformed entries in ${this.path}`);
    return out;
  }

  /** Replaces the file atomically; rejects with the fs error. */
  save(records: readonly StoredLease[]): Promise<void> {
    const leases = records.map((r) => ({ device: r.device, addr: formatIpv4(r.addr4), lastUsed: new Date(r.lastUsed).toISOString() }));
    return saveStateFileAsync(this.path, { version: 1, leases }, { dir: 0o700, file: 0o600 });
  }

  #corrupt(why: string): StoredLease[] {
    const aside = `${this.path}.corrupt`;
    let moved = "";
    try {
      renameSync(this.path, aside);
      moved = `; moved to ${aside}`;
    } catch {
      // left in place: the next save replaces it
    }
    this.#log.warn(`leases: ignoring ${this.path}: ${why}${moved}; starting without saved leases`);
    return [];
  }
}

/**
 * @module client/dns
 * `--dns apply`: writes the pushed DNS servers and search domains into resolv.conf while
 * the tunnel is up, and puts the original back, byte for byte, when it goes down.
 *
 *   1. apply (tunnel up, or new parameters): the original content is saved to a backup
 *      in the state dir first (write-ahead), then the file is rewritten in place. The
 *      same DNS again: nothing; different DNS: rewritten, the backup keeps the original.
 *   2. restore (stop, or the server stops pushing DNS): the original is written back if
 *      the file still holds warren's text; if another program rewrote it meanwhile, its
 *      text stays. Then the backup is deleted.
 *   3. cleanupStale (start, before anything else, even before the server's name is
 *      looked up, which needs a working resolver): a killed run's backup is restored.
 *
 * DNS never takes the tunnel down: apply and restore log a warning and go on. The file
 * and the backup are reached only through ResolvConfOps and DnsBackupStore
 * (`platform/linux/resolvconf.ts`), so tests use fakes. `withDns` hooks this into a ClientNet.
 */

import { oneLine, WarrenError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { Params } from "../protocol/toyvpn.ts";
import type { TunDevice } from "../tun/device.ts";
import type { ClientNet } from "./net.ts";
import { dnsStep, planDns, renderResolvConf, restoreStep, sameBytes } from "./resolv-conf.ts";
import { leftBehind, type RecoveryStore } from "./stale.ts";

/** The resolver file. Both throw a one-line error (`cannot write /etc/resolv.conf: EROFS`). */
export interface ResolvConfOps {
  read(path: string): Uint8Array;
  /** Replaces the content in place (truncate + write; never a rename, it may be a bind mount). */
  write(path: string, data: Uint8Array): void;
}

/** What the backup holds: whose it is and the file's original bytes. */
export interface DnsBackup {
  pid: number;
  tun: string;
  path: string;
  original: Uint8Array;
}

/** Persistence of the backup (one per TUN name, beside the client's state file). */
export type DnsBackupStore = RecoveryStore<DnsBackup>;

/** Settings of ClientDns. */
export interface ClientDnsOptions {
  tun: string;
  pid: number;
  /** The resolver file, normally /etc/resolv.conf. */
  path: string;
}

/** The resolv.conf manager of one client run. */
export class ClientDns {
  readonly #o: ClientDnsOptions;
  readonly #ops: ResolvConfOps;
  readonly #store: DnsBackupStore;
  readonly #log: Logger;
  #backup: DnsBackup | null = null;
  /** The text warren wrote and that is in force, or null while the original is. */
  #written: string | null = null;

  constructor(opts: ClientDnsOptions, ops: ResolvConfOps, store: DnsBackupStore, log: Logger) {
    this.#o = opts;
    this.#ops = ops;
    this.#store = store;
    this.#log = log;
  }

  /**
   * Puts back the original a killed run left in its backup. Throws when that run is still
   * alive. When the file cannot be written, this run takes the backup over (its original
   * is still the true one) and tries again when it stops. Returns whether a backup was found.
   */
  cleanupStale(): boolean {
    const old = leftBehind(this.#store, this.#o.pid, "DNS backup");
    if (old === null) return false;
    try {
      this.#putBack(old, `left by an earlier run (pid ${old.pid})`);
      this.#store.remove();
    } catch (e) {
      this.#log.warn(`DNS: cannot restore ${old.path} from the backup an earlier run (pid ${old.pid}) left: ${oneLine(e)}; trying again at stop`);
      this.#backup = { ...old, pid: this.#o.pid };
      this.#trySave(this.#backup);
    }
    return true;
  }

  /** Brings the file in line with the pushed DNS options. Never throws (failures are warnings). */
  apply(params: Params): void {
    const plan = planDns(params.dns, params.searchDomains);
    for (const n of plan.notes) this.#log.warn(`DNS: ${n}`);
    const wanted = renderResolvConf(plan, this.#o.tun);
    const step = dnsStep(this.#written, wanted);
    if (step === "restore") {
      this.#log.info("DNS: no DNS server pushed any more");
      this.restore();
    }
    if (step !== "write" || wanted === null) return;
    const path = this.#o.path;
    const first = this.#written === null;
    try {
      const current = this.#ops.read(path);
      if (this.#backup === null || this.#backup.path !== path) {
        this.#backup = { pid: this.#o.pid, tun: this.#o.tun, path, original: current };
        this.#store.save(this.#backup);
      } else if (!first && restoreStep(current, this.#backup.original) === "foreign") {
        // Rewritten by another program (a DHCP client?) while up: that is the original now.
        this.#backup = { ...this.#backup, original: current };
        this.#store.save(this.#backup);
      }
      this.#ops.write(path, new TextEncoder().encode(wanted));
      this.#written = wanted;
      const search = plan.search.length > 0 ? `, search ${plan.search.join(" ")}` : "";
      this.#log.info(`DNS: ${path} now lists ${plan.servers.join(" ")}${search} (the original is kept in ${this.#store.path})`);
    } catch (e) {
      this.#log.warn(`DNS not applied: ${oneLine(e)}; the tunnel stays up`);
      if (first) this.restore();
    }
  }

  /** Puts the original back and deletes the backup. Idempotent, never throws. */
  restore(): void {
    const b = this.#backup;
    if (b === null) return;
    this.#written = null;
    try {
      this.#putBack(b, "");
    } catch (e) {
      this.#log.warn(`DNS: cannot restore ${b.path}: ${oneLine(e)}; the original stays in ${this.#store.path} and the next start puts it back`);
      return;
    }
    this.#backup = null;
    this.#store.remove();
  }

  /** Writes `b.original` back if the file holds warren's text; throws when it cannot read or write. */
  #putBack(b: DnsBackup, whose: string): void {
    const current = this.#ops.read(b.path);
    switch (restoreStep(current, b.original)) {
      case "same":
        return;
      case "foreign":
        this.#log.warn(`DNS: ${b.path} was changed by another program since warren wrote it: left as it is`);
        return;
      case "restore":
        this.#ops.write(b.path, b.original);
        if (!sameBytes(this.#ops.read(b.path), b.original)) throw new WarrenError("ERR_RESOLV_CONF", `${b.path} does not read back as written`);
        this.#log.info(`DNS: ${b.path} restored${whose ? ` (${whose})` : ""}`);
    }
  }

  #trySave(b: DnsBackup): void {
    try {
      this.#store.save(b);
    } catch (e) {
      this.#log.warn(`DNS: ${oneLine(e)}`);
    }
  }
}

/** `net` with resolv.conf following the parameters: written after the routes, restored before they go. */
export function withDns(net: ClientNet, dns: ClientDns): ClientNet {
  return {
    up(params: Params): TunDevice {
      const tun = net.up(params);
      dns.apply(params);
      return tun;
    },
    update(params: Params): TunDevice {
      const tun = net.update(params);
      dns.apply(params);
      return tun;
    },
    down(): void {
      dns.restore();
      net.down();
    },
  };
}

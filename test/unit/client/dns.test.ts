/**
 * @module client-dns.test
 * `--dns apply` on a fake file and backup store: the backup is written before the file,
 * the original comes back byte for byte, reconnects with the same DNS write nothing, a
 * killed run's backup is restored by the next start, a file another program rewrote is
 * left alone, and every failure is a one-line warning, never an exception.
 */
import { describe, expect, test } from "bun:test";
import { ClientDns, type DnsBackup, type DnsBackupStore, type ResolvConfOps, withDns } from "../../../src/client/dns.ts";
import type { ClientNet } from "../../../src/client/net.ts";
import { headerLine } from "../../../src/client/resolv-conf.ts";
import { WarrenError } from "../../../src/lib/errors.ts";
import { recordingLogger } from "../../lib/log.ts";
import { parseParams, type Params } from "../../../src/protocol/toyvpn.ts";
import { FakeTun } from "../../fakes/fake-tun.ts";

const PATH = "/etc/resolv.conf";
// Not UTF-8, no final newline: must come back exactly.
const ORIGINAL = new Uint8Array([...new TextEncoder().encode("# host\nnameserver 10.0.0.1\noptions edns0 \xff"), 0xfe, 0x00]);
const text = (b: Uint8Array | undefined) => new TextDecoder("latin1").decode(b);

function params(t: string): Params {
  const r = parseParams(t);
  if (!r.ok) throw new Error(r.error);
  return r.params;
}

/** A file, a backup store and a log, with one event list so the order is visible. */
class World implements ResolvConfOps, DnsBackupStore {
  readonly path = "/run/warren/client-wc1.dns.json";
  readonly events: string[] = [];
  files = new Map<string, Uint8Array>([[PATH, ORIGINAL]]);
  stored: DnsBackup | null = null;
  alive = new Set<number>();
  failWrite: string | null = null;
  failSave = false;
  readonly log = recordingLogger();

  read(path: string): Uint8Array {
    const f = this.files.get(path);
    if (f === undefined) throw new WarrenError("ERR_RESOLV_CONF", `cannot read ${path}: ENOENT`);
    return f.slice();
  }
  write(path: string, data: Uint8Array): void {
    if (this.failWrite) throw new WarrenError("ERR_RESOLV_CONF", `cannot write ${path}: ${this.failWrite}`);
    this.events.push(`write ${text(data).split("\n")[1] ?? ""}`);
    this.files.set(path, data.slice());
  }
  load(): DnsBackup | null {
    return this.stored === null ? null : { ...this.stored, original: this.stored.original.slice() };
  }
  save(b: DnsBackup): void {
    if (this.failSave) throw new WarrenError("ERR_STATE_FILE", `cannot write the DNS backup ${this.path}: EROFS (set --state-dir)`);
    this.events.push(`backup pid ${b.pid}`);
    this.stored = { ...b, original: b.original.slice() };
  }
  remove(): void {
    if (this.stored !== null) this.events.push("remove backup");
    this.stored = null;
  }
  isAlive(pid: number): boolean {
    return this.alive.has(pid);
  }
  get file(): Uint8Array | undefined {
    return this.files.get(PATH);
  }
}

const make = (w: World, pid = 100) => new ClientDns({ tun: "wc1", pid, path: PATH }, w, w, w.log);
const PUSHED = "m,1400 a,10.8.0.5,32 d,192.0.2.53 d,2001:db8::53 s,corp.example";

describe("ClientDns", () => {
  test("apply: the backup first, then the file in place; restore: the original byte for byte", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params(PUSHED));
    expect(w.events).toEqual(["backup pid 100", "write nameserver 192.0.2.53"]);
    expect(text(w.file)).toBe(`${headerLine("wc1")}\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch corp.example\n`);
    expect(w.stored?.original).toEqual(ORIGINAL);
    dns.restore();
    dns.restore();
    expect(w.file).toEqual(ORIGINAL);
    expect(w.stored).toBeNull();
    expect(w.log.at("warn")).toEqual([]);
  });

  test("no DNS pushed: nothing read, nothing written", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params("m,1400 a,10.8.0.5,32 s,corp.example"));
    dns.restore();
    expect(w.events).toEqual([]);
    expect(w.file).toEqual(ORIGINAL);
  });

  test("reconnect with the same DNS writes nothing; different DNS rewrites, the backup keeps the original", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params(PUSHED));
    dns.apply(params(`${PUSHED} r,10.9.0.0,16`));
    expect(w.events).toEqual(["backup pid 100", "write nameserver 192.0.2.53"]);
    dns.apply(params("m,1400 a,10.8.0.5,32 d,198.51.100.53"));
    expect(w.events.slice(2)).toEqual(["write nameserver 198.51.100.53"]);
    expect(w.stored?.original).toEqual(ORIGINAL);
    dns.restore();
    expect(w.file).toEqual(ORIGINAL);
  });

  test("the server stops pushing DNS: the original goes back", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params(PUSHED));
    dns.apply(params("m,1400 a,10.8.0.5,32"));
    expect(w.file).toEqual(ORIGINAL);
    expect(w.stored).toBeNull();
    dns.apply(params(PUSHED));
    expect(w.stored?.original).toEqual(ORIGINAL);
  });

  test("killed run: the next start restores the original before anything else", () => {
    const w = new World();
    make(w, 100).apply(params(PUSHED)); // never restored: SIGKILL
    const next = make(w, 200);
    expect(next.cleanupStale()).toBe(true);
    expect(w.file).toEqual(ORIGINAL);
    expect(w.stored).toBeNull();
    expect(w.log.at("info")).toContain(`DNS: ${PATH} restored (left by an earlier run (pid 100))`);
    expect(next.cleanupStale()).toBe(false);
  });

  test("a backup of a client that still runs is not touched", () => {
    const w = new World();
    make(w, 100).apply(params(PUSHED));
    w.alive.add(100);
    expect(() => make(w, 200).cleanupStale()).toThrow("another warren client (pid 100) uses wc1");
    expect(text(w.file)).toContain("nameserver 192.0.2.53");
  });

  test("a file another program rewrote meanwhile is left alone", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params(PUSHED));
    const dhcp = new TextEncoder().encode("# dhclient\nnameserver 10.0.0.2\n");
    w.files.set(PATH, dhcp);
    dns.restore();
    expect(w.file).toEqual(dhcp);
    expect(w.stored).toBeNull();
    expect(w.log.at("warn")).toEqual([`DNS: ${PATH} was changed by another program since warren wrote it: left as it is`]);
  });

  test("rewritten by another program while up, then new DNS: that text becomes the original", () => {
    const w = new World();
    const dns = make(w);
    dns.apply(params(PUSHED));
    const dhcp = new TextEncoder().encode("# dhclient\nnameserver 10.0.0.2\n");
    w.files.set(PATH, dhcp);
    dns.apply(params("m,1400 a,10.8.0.5,32 d,198.51.100.53"));
    dns.restore();
    expect(w.file).toEqual(dhcp);
  });

  test("write fails: one warning, nothing changed, no backup left; the next apply tries again", () => {
    const w = new World();
    const dns = make(w);
    w.failWrite = "EROFS";
    expect(() => dns.apply(params(PUSHED))).not.toThrow();
    expect(w.log.at("warn")).toEqual([`DNS not applied: cannot write ${PATH}: EROFS; the tunnel stays up`]);
    expect(w.file).toEqual(ORIGINAL);
    expect(w.stored).toBeNull();
    w.failWrite = null;
    dns.apply(params(PUSHED));
    expect(text(w.file)).toContain("nameserver 192.0.2.53");
  });

  test("the backup cannot be saved: the file is not touched", () => {
    const w = new World();
    w.failSave = true;
    make(w).apply(params(PUSHED));
    expect(w.file).toEqual(ORIGINAL);
    expect(w.log.at("warn")[0]).toContain("DNS not applied: cannot write the DNS backup");
  });

  test("a missing file: one warning, nothing created", () => {
    const w = new World();
    w.files.clear();
    make(w).apply(params(PUSHED));
    expect(w.log.at("warn")).toEqual([`DNS not applied: cannot read ${PATH}: ENOENT; the tunnel stays up`]);
    expect(w.files.size).toBe(0);
  });

  test("restore fails at stop: the backup stays for the next start, which restores it", () => {
    const w = new World();
    const dns = make(w, 100);
    dns.apply(params(PUSHED));
    w.failWrite = "EROFS";
    expect(() => dns.restore()).not.toThrow();
    expect(w.log.at("warn")[0]).toContain(`DNS: cannot restore ${PATH}: cannot write ${PATH}: EROFS; the original stays in`);
    expect(w.stored?.original).toEqual(ORIGINAL);
    w.failWrite = null;
    make(w, 200).cleanupStale();
    expect(w.file).toEqual(ORIGINAL);
  });

  test("a killed run's backup that cannot be restored now is taken over and restored at stop", () => {
    const w = new World();
    make(w, 100).apply(params(PUSHED));
    w.failWrite = "EROFS";
    const next = make(w, 200);
    next.cleanupStale();
    expect(w.stored?.pid).toBe(200);
    w.failWrite = null;
    next.apply(params("m,1400 a,10.8.0.5,32 d,198.51.100.53"));
    expect(w.stored?.original).toEqual(ORIGINAL); // not the first run's text
    next.restore();
    expect(w.file).toEqual(ORIGINAL);
  });
});

describe("withDns", () => {
  test("the file follows the routes up and goes back before they are removed", () => {
    const w = new World();
    const order: string[] = [];
    const net: ClientNet = {
      up: () => (order.push("net up"), new FakeTun(1400)),
      update: () => (order.push("net update"), new FakeTun(1400)),
      down: () => void order.push(`net down (file original: ${text(w.file) === text(ORIGINAL)})`),
    };
    const both = withDns(net, make(w));
    both.up(params(PUSHED));
    order.push(`file: ${text(w.file).split("\n")[1]}`);
    both.update(params("m,1400 a,10.8.0.5,32 d,198.51.100.53"));
    order.push(`file: ${text(w.file).split("\n")[1]}`);
    both.down();
    expect(order).toEqual([
      "net up", "file: nameserver 192.0.2.53", "net update", "file: nameserver 198.51.100.53", "net down (file original: true)",
    ]);
  });
});

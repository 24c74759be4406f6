/**
 * platform/linux/client-state: the client's files are keyed by TUN name and network
 * namespace, so two clients never share one, and `warren client status` finds the
 * sockets of its own namespace only.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientSocketPath, clientSockets, FileStateStore, netnsId, statePath } from "../../../src/platform/linux/client-state.ts";
import { dnsBackupPath, FileDnsBackup } from "../../../src/platform/linux/resolvconf.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-client-state-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("client file names", () => {
  test("netnsId is the inode of this process's /proc/self/ns/net", () => {
    expect(netnsId()).toBe(String(statSync("/proc/self/ns/net").ino));
    expect(netnsId()).toMatch(/^\d+$/);
  });

  test("state, DNS backup and socket of one client share a stem; another TUN or namespace gets other files", () => {
    expect(statePath("/run/warren", "wc1", "4026531840")).toBe("/run/warren/client-wc1-4026531840.json");
    expect(dnsBackupPath("/run/warren", "wc1", "4026531840")).toBe("/run/warren/client-wc1-4026531840.dns.json");
    expect(clientSocketPath("/run/warren", "wc1", "4026531840")).toBe("/run/warren/client-wc1-4026531840.sock");
    const paths = new Set(
      ["wc1", "wc2"].flatMap((tun) => ["4026531840", "4026532001"].flatMap((ns) => [statePath(dir, tun, ns), dnsBackupPath(dir, tun, ns), clientSocketPath(dir, tun, ns)])),
    );
    expect(paths.size).toBe(12);
  });

  test("two clients on the same TUN name in two namespaces keep separate state files", () => {
    const a = new FileStateStore(dir, "warren1", "1001");
    const b = new FileStateStore(dir, "warren1", "1002");
    a.save({ pid: 11, tun: "warren1", server: "192.0.2.1", routes: [] });
    b.save({ pid: 22, tun: "warren1", server: "192.0.2.2", routes: [] });
    expect(a.load()?.pid).toBe(11);
    expect(b.load()?.pid).toBe(22);
    b.remove();
    expect(a.load()?.pid).toBe(11);
    expect(new FileStateStore(dir, "warren1").path).toBe(statePath(dir, "warren1", netnsId()));
    expect(new FileDnsBackup(dir, "warren1").path).toBe(dnsBackupPath(dir, "warren1", netnsId()));
  });

  test("clientSockets lists this namespace's client sockets by TUN name, nothing else", () => {
    const d = join(dir, "socks");
    mkdirSync(d);
    for (const f of ["client-wc2-500.sock", "client-wc1-500.sock", "client-a-b-500.sock", "client-wc1-501.sock", "client-wc1-500.json", "warren.sock", "client--500.sock"]) {
      writeFileSync(join(d, f), "");
    }
    expect(clientSockets(d, "500")).toEqual([
      { tun: "a-b", path: join(d, "client-a-b-500.sock") },
      { tun: "wc1", path: join(d, "client-wc1-500.sock") },
      { tun: "wc2", path: join(d, "client-wc2-500.sock") },
    ]);
    expect(clientSockets(join(dir, "missing"), "500")).toEqual([]);
  });
});

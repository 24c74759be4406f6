/**
 * server/sessions: the session table on its own (a recording door, real pools, given
 * times): opening, continuing and replacing, fixed addresses, a full pool, the client
 * limit, closing, expiry, and device keys scoped to the identity.
 */

import { describe, expect, test } from "bun:test";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../../../src/protocol/ip.ts";
import { Pool4 } from "../../../src/server/pool.ts";
import { Pool6 } from "../../../src/server/pool6.ts";
import type { CloseReason, Session, SessionDoor } from "../../../src/server/session.ts";
import { deviceKey, type SessionSpec, SessionTable } from "../../../src/server/sessions.ts";

const T0 = 1_000_000;
const ip = (text: string) => parseIpv4(text) as number;

/** A door that records what the table tells it. */
class RecordingDoor implements SessionDoor {
  readonly protocol = "toyvpn" as const;
  readonly ends: string[] = [];
  queue(): boolean {
    return true;
  }
  sendNow(): boolean {
    return true;
  }
  closed(s: Session, reason: CloseReason, now: number): void {
    this.ends.push(`${s.label} ${reason} @${now - T0}`);
  }
}

/** A table over 10.8.0.0/`prefixLen` (clients from .2), with its door and the up/down events. */
function table(prefixLen = 29, pool6 = false) {
  const pool = new Pool4(ip("10.8.0.0"), prefixLen);
  const p6 = pool6 ? new Pool6(parseIpv6("fd00:8::") as Uint8Array, 64, 32 - prefixLen) : null;
  const t = new SessionTable(pool, p6);
  const door = new RecordingDoor();
  const events: string[] = [];
  t.onUp = (s) => events.push(`up ${s.label} ${formatIpv4(s.addr4)}`);
  t.onDown = (s, reason) => events.push(`down ${s.label} ${reason}`);
  const spec = (o: Partial<SessionSpec> = {}): SessionSpec => ({
    door, identity: null, deviceId: null, user: null, grant: null, address: "::ffff:192.0.2.1", port: 40000,
    fixedAddr4: null, continues: null, ...o,
  });
  const open = (o: Partial<SessionSpec> = {}, now = T0): Session => {
    const r = t.open(spec(o), now);
    if (!r.ok) throw new Error(`refused: ${r.reason}`);
    return r.session;
  };
  return { t, pool, door, events, spec, open };
}

describe("SessionTable.open", () => {
  test("a new session leases the next address and is found by address and by device", () => {
    const { t, pool, events, open } = table();
    const a = open({ deviceId: "phone" });
    const b = open({ user: "alice", identity: "user:alice", port: 40001 });
    const c = open({ port: 40002 });
    expect([a, b, c].map((s) => formatIpv4(s.addr4))).toEqual(["10.8.0.2", "10.8.0.3", "10.8.0.4"]);
    expect([a, b, c].map((s) => s.label)).toEqual(["phone", "alice#2", "#3"]);
    expect(t.size).toBe(3);
    expect(pool.used).toBe(3);
    expect(t.byAddr4(ip("10.8.0.3"))).toBe(b);
    expect(t.byDevice(null, "phone")).toBe(a);
    expect(t.all()).toEqual([a, b, c]);
    expect(a).toMatchObject({ protocol: "toyvpn", open: true, createdAt: T0, lastSeen: T0, address: "::ffff:192.0.2.1", port: 40000 });
    expect(events).toEqual(["up phone 10.8.0.2", "up alice#2 10.8.0.3", "up #3 10.8.0.4"]);
  });

  test("with an IPv6 pool the session gets the paired IPv6 address, indexed by its last 32 bits", () => {
    const { t, open } = table(29, true);
    const s = open();
    expect(formatIpv6(s.addr6 as Uint8Array)).toBe("fd00:8::2");
    expect(t.byAddr6Key(2)).toBe(s);
  });

  test("a continuing handshake replaces the session at once and keeps its address", () => {
    const { t, door, events, open } = table();
    const old = open({ deviceId: "phone", port: 40000 });
    const next = open({ deviceId: "phone", port: 40999, continues: old }, T0 + 5);
    expect(next.addr4).toBe(old.addr4);
    expect(old.open).toBe(false);
    expect(door.ends).toEqual(["phone replaced @5"]);
    expect(t.size).toBe(1);
    expect(t.byAddr4(old.addr4)).toBe(next);
    expect(t.byDevice(null, "phone")).toBe(next);
    expect(events).toEqual(["up phone 10.8.0.2", "down phone replaced", "up phone 10.8.0.2"]); // the old one ends first
  });

  test("continuing a session that already closed is a new session", () => {
    const { t, door, open } = table();
    const old = open({ deviceId: "phone" });
    t.close(old, "kicked", T0);
    const next = open({ deviceId: "phone", continues: old });
    expect(next.addr4).toBe(old.addr4); // the device's remembered address, leased again
    expect(door.ends).toEqual(["phone kicked @0"]);
  });

  test("a fixed address is granted exactly; one in use is refused as address-taken", () => {
    const { t, open, spec } = table();
    const a = open({ identity: "user:alice", user: "alice", fixedAddr4: ip("10.8.0.5") });
    expect(formatIpv4(a.addr4)).toBe("10.8.0.5");
    expect(t.open(spec({ identity: "user:bob", fixedAddr4: ip("10.8.0.5") }), T0)).toEqual({ ok: false, reason: "address-taken" });
    expect(t.size).toBe(1);
  });

  test("a continuing session moving to its fixed address frees the old one", () => {
    const { pool, open } = table();
    const old = open({ identity: "user:alice", deviceId: "phone" });
    const next = open({ identity: "user:alice", deviceId: "phone", fixedAddr4: ip("10.8.0.6"), continues: old });
    expect(formatIpv4(next.addr4)).toBe("10.8.0.6");
    expect(pool.isLeased(old.addr4)).toBe(false);
    expect(pool.used).toBe(1);
  });

  test("a continuing handshake refused for its fixed address still ends the old session", () => {
    const { t, door, pool, open, spec } = table();
    open({ identity: "user:bob", fixedAddr4: ip("10.8.0.6") });
    const old = open({ identity: "user:alice", deviceId: "phone", port: 40001 });
    const r = t.open(spec({ identity: "user:alice", deviceId: "phone", fixedAddr4: ip("10.8.0.6"), continues: old }), T0);
    expect(r).toEqual({ ok: false, reason: "address-taken" });
    expect(old.open).toBe(false);
    expect(door.ends).toEqual(["phone replaced @0"]);
    expect(pool.isLeased(old.addr4)).toBe(false);
    expect(t.size).toBe(1);
  });

  test("a full pool refuses new sessions (pool-full) and indexes nothing", () => {
    const { t, events, open, spec } = table(30); // one client address
    open();
    expect(t.open(spec({ deviceId: "second" }), T0)).toEqual({ ok: false, reason: "pool-full" });
    expect(t.byDevice(null, "second")).toBeUndefined();
    expect(events).toHaveLength(1);
  });
});

describe("maxClients", () => {
  test("refuses new sessions at the limit, never a continuing one; 0 means only the pool limits", () => {
    const { t, spec, open } = table();
    t.maxClients = 2;
    const a = open({ deviceId: "a" });
    open({ deviceId: "b" });
    expect(t.open(spec({ deviceId: "c" }), T0)).toEqual({ ok: false, reason: "max-clients" });
    const a2 = open({ deviceId: "a", continues: a });
    expect(a2.addr4).toBe(a.addr4);
    expect(t.size).toBe(2);
    t.maxClients = 0;
    open({ deviceId: "c" });
    expect(t.size).toBe(3);
  });
});

describe("SessionTable.close and expire", () => {
  test("close unindexes the session, returns its address, tells the door once; a second close does nothing", () => {
    const { t, door, pool, events, open } = table();
    const s = open({ deviceId: "phone" });
    t.close(s, "kicked", T0 + 7);
    t.close(s, "idle", T0 + 8);
    expect(s.open).toBe(false);
    expect(door.ends).toEqual(["phone kicked @7"]);
    expect(events).toEqual(["up phone 10.8.0.2", "down phone kicked"]);
    expect(t.size).toBe(0);
    expect(t.byAddr4(s.addr4)).toBeUndefined();
    expect(t.byDevice(null, "phone")).toBeUndefined();
    expect(pool.isLeased(s.addr4)).toBe(false);
    expect(formatIpv4(open({ deviceId: "phone" }).addr4)).toBe("10.8.0.2");
  });

  test("expire closes exactly the sessions idle for at least idleMs, as idle", () => {
    const { t, door, open } = table();
    const quiet = open({ deviceId: "quiet" });
    const busy = open({ deviceId: "busy" });
    busy.lastSeen = T0 + 50_000;
    expect(t.expire(T0 + 59_999, 60_000)).toBe(0);
    expect(t.expire(T0 + 60_000, 60_000)).toBe(1);
    expect(quiet.open).toBe(false);
    expect(busy.open).toBe(true);
    expect(door.ends).toEqual(["quiet idle @60000"]);
  });
});

describe("device keys", () => {
  test("a device id is scoped to its identity; the shared secret's identity is none", () => {
    expect(deviceKey(null, "phone")).toBe("phone");
    expect(deviceKey("user:alice", "phone")).toBe("user:alice\u0000phone");
    expect(deviceKey("user:alice", null)).toBeNull();
    expect(deviceKey("user:alice", "phone")).not.toBe(deviceKey("user:bob", "phone"));
  });

  test("the same device id under two identities is two devices, each with its own sticky address", () => {
    const { t, open } = table();
    const alice = open({ identity: "user:alice", deviceId: "phone" });
    const bob = open({ identity: "user:bob", deviceId: "phone" });
    expect(alice.addr4).not.toBe(bob.addr4);
    expect(t.byDevice("user:alice", "phone")).toBe(alice);
    expect(t.byDevice("user:bob", "phone")).toBe(bob);
    expect(t.byDevice(null, "phone")).toBeUndefined();
    t.close(alice, "idle", T0);
    t.close(bob, "idle", T0);
    expect(open({ identity: "user:bob", deviceId: "phone" }).addr4).toBe(bob.addr4);
    expect(open({ identity: "user:alice", deviceId: "phone" }).addr4).toBe(alice.addr4);
  });
});

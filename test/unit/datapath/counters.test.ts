/** Folding the workers' counters into sessions and totals (datapath/counters.ts). */
import { describe, expect, test } from "bun:test";
import { CounterFold } from "../../../src/datapath/counters.ts";
import { C_DROP_SEND, C_DROP_TUN_WRITE, C_RX_BYTES, C_RX_PACKETS, C_TX_BYTES, C_TX_PACKETS, counterBytes, counterIndex, G_RX_TRUNCATED, G_TX_NO_SESSION, G_WG_DECRYPT, G_WG_REPLAY, G_WG_UNKNOWN } from "../../../src/datapath/layout.ts";
import { newDropCounters, type Session, type SessionDoor } from "../../../src/server/session.ts";
import { newServerStats } from "../../../src/server/stats.ts";

const door: SessionDoor = { protocol: "toyvpn", queue: () => true, sendNow: () => true, closed: () => {} };

function session(serial: number): Session {
  return {
    serial, protocol: "toyvpn", door, identity: null, deviceId: null, user: null, label: `#${serial}`, address: "::ffff:192.0.2.1", port: 1,
    addr4: 0, addr6: null, addr6Key: 0, createdAt: 0, lastSeen: 0, grant: null, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0,
    drops: newDropCounters(), open: true,
  };
}

describe("CounterFold", () => {
  const slabs = [new SharedArrayBuffer(counterBytes(8)), new SharedArrayBuffer(counterBytes(8))];
  const w = slabs.map((s) => new Float64Array(s));
  const add = (worker: number, slot: number, c: number, n: number) => {
    const a = w[worker] as Float64Array;
    a[counterIndex(slot, c)] = (a[counterIndex(slot, c)] as number) + n;
  };

  test("sums every worker's counts into the owner and the totals; only new counts; lastSeen on rx", () => {
    const stats = newServerStats(0);
    const own = { handoffsTx: 0, handoffsRx: 0, handoffDrops: 0, offloadDrops: 0 };
    const fold = new CounterFold(slabs, stats, own);
    add(0, 2, C_RX_PACKETS, 5); // before the session: totals only
    const s = session(1);
    fold.attach(2, s);
    add(0, 2, C_RX_PACKETS, 3);
    add(0, 2, C_RX_BYTES, 300);
    add(1, 2, C_TX_PACKETS, 4);
    add(1, 2, C_TX_BYTES, 4000);
    add(1, 2, C_DROP_SEND, 1);
    add(0, 2, C_DROP_TUN_WRITE, 2);
    (w[1] as Float64Array)[G_TX_NO_SESSION] = 7;
    (w[0] as Float64Array)[G_RX_TRUNCATED] = 1;
    fold.foldAll(500);
    expect([s.rxPackets, s.rxBytes, s.txPackets, s.txBytes, s.drops.send, s.drops["tun-write"], s.lastSeen]).toEqual([3, 300, 4, 4000, 1, 2, 500]);
    expect([stats.rxPackets, stats.txPackets, stats.drops["no-session"], stats.junk]).toEqual([8, 4, 7, 1]);
    expect(stats.doorDrops["wireguard:decrypt"]).toBeUndefined();
    (w[0] as Float64Array)[G_WG_DECRYPT] = 2;
    (w[1] as Float64Array)[G_WG_REPLAY] = 3;
    (w[1] as Float64Array)[G_WG_UNKNOWN] = 4;
    fold.foldAll(600);
    fold.foldAll(700); // folded once, not twice
    expect([stats.doorDrops["wireguard:decrypt"], stats.doorDrops["wireguard:replay"], stats.doorDrops["wireguard:unknown-index"]]).toEqual([2, 3, 4]);
    fold.foldAll(900); // nothing new: nothing changes, lastSeen stays
    expect([s.rxPackets, s.lastSeen, stats.rxPackets]).toEqual([3, 500, 8]);
    add(1, 2, C_TX_PACKETS, 1);
    fold.foldAll(1000);
    expect([s.txPackets, s.lastSeen]).toEqual([5, 500]); // tx alone is not a sign of life
  });

  test("detach folds the last counts; a new owner starts from the present values", () => {
    const stats = newServerStats(0);
    const fold = new CounterFold(slabs, stats, { handoffsTx: 0, handoffsRx: 0, handoffDrops: 0, offloadDrops: 0 });
    const a = session(1);
    const b = session(2);
    add(0, 3, C_RX_PACKETS, 10);
    fold.attach(3, a);
    add(0, 3, C_RX_PACKETS, 2);
    fold.detach(3, b, 5); // not the owner: no effect
    expect(a.rxPackets).toBe(0);
    fold.detach(3, a, 5);
    expect(a.rxPackets).toBe(2);
    add(0, 3, C_RX_PACKETS, 1); // between sessions
    fold.attach(3, b);
    add(0, 3, C_RX_PACKETS, 4);
    fold.foldAll(6);
    expect([a.rxPackets, b.rxPackets, stats.rxPackets]).toEqual([2, 4, 17]);
  });
});

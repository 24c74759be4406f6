import { describe, expect, test } from "bun:test";
import { type BatchItem, BatchSender, type BatchSocket } from "../../../src/transport/batch.ts";
import type { TransportStats } from "../../../src/transport/transport.ts";

/** A socket that accepts `room` entries per sendMany and records what it got. */
function fakeSocket(stride: number) {
  const got: string[] = [];
  const ctl = { room: Infinity, throwMany: false, failOne: false };
  const sock: BatchSocket = {
    sendMany(items: readonly BatchItem[]) {
      if (ctl.throwMany) throw Object.assign(new Error("ECONNREFUSED"), { code: "ECONNREFUSED" });
      const n = Math.min(items.length / stride, ctl.room);
      for (let k = 0; k < n; k++) got.push(new TextDecoder().decode(items[k * stride] as Uint8Array));
      return n;
    },
    sendOne(items: readonly BatchItem[], at: number) {
      if (ctl.failOne) return false;
      got.push(new TextDecoder().decode(items[at] as Uint8Array));
      return true;
    },
  };
  return { sock, got, ctl };
}

const enc = (s: string) => new TextEncoder().encode(s);
const stats = (): TransportStats => ({ sentDatagrams: 0, sendDrops: 0, socketErrors: 0 });

describe("BatchSender", () => {
  test("one flush sends the queue in order; an empty flush does nothing", () => {
    const f = fakeSocket(3);
    const st = stats();
    const b = new BatchSender(3, 8, 4, st, () => f.sock);
    b.flush();
    for (const s of ["a", "b", "c"]) b.queue(enc(s), 9, "::1");
    b.flush();
    expect(f.got).toEqual(["a", "b", "c"]);
    expect(st).toEqual({ sentDatagrams: 3, sendDrops: 0, socketErrors: 0 });
  });

  test("a full batch drops and counts", () => {
    const f = fakeSocket(1);
    const st = stats();
    const b = new BatchSender(1, 2, 4, st, () => f.sock);
    expect(b.queue(enc("a"))).toBe(true);
    expect(b.queue(enc("b"))).toBe(true);
    expect(b.queue(enc("c"))).toBe(false);
    b.flush();
    expect(f.got).toEqual(["a", "b"]);
    expect(st.sendDrops).toBe(1);
  });

  test("a short count keeps a copy of the rest for one retry on drain; the arena may be reused meanwhile", () => {
    const f = fakeSocket(1);
    const st = stats();
    const b = new BatchSender(1, 8, 2, st, () => f.sock);
    const arena = enc("xyz");
    b.queue(arena.subarray(0, 1));
    b.queue(arena.subarray(1, 2));
    b.queue(arena.subarray(2, 3));
    b.queue(enc("w"));
    f.ctl.room = 1;
    b.flush();
    expect(f.got).toEqual(["x"]);
    expect(st.sendDrops).toBe(1); // retry queue holds 2, the 4th is dropped
    arena.fill(0x21); // the TUN reads the next batch into the same arena
    f.ctl.room = Infinity;
    b.onDrain();
    expect(f.got).toEqual(["x", "y", "z"]);
    expect(st.sentDatagrams).toBe(3);
  });

  test("whatever the retry cannot send is dropped, not retried forever", async () => {
    const f = fakeSocket(1);
    const st = stats();
    const b = new BatchSender(1, 8, 8, st, () => f.sock);
    b.queue(enc("a"));
    b.queue(enc("b"));
    f.ctl.room = 0;
    b.flush();
    await new Promise((r) => setImmediate(r)); // the retry runs on the next turn
    await new Promise((r) => setImmediate(r));
    expect(f.got).toEqual([]);
    expect(st.sendDrops).toBe(2);
  });

  test("a throwing sendMany falls back to one send each", () => {
    const f = fakeSocket(3);
    const st = stats();
    const b = new BatchSender(3, 8, 8, st, () => f.sock);
    b.queue(enc("a"), 1, "::1");
    b.queue(enc("b"), 2, "::1");
    f.ctl.throwMany = true;
    b.flush();
    expect(f.got).toEqual(["a", "b"]);
    expect(st.sentDatagrams).toBe(2);
  });

  test("no socket: everything queued is dropped and counted", () => {
    const st = stats();
    const b = new BatchSender(1, 8, 8, st, () => null);
    b.queue(enc("a"));
    b.flush();
    expect(st.sendDrops).toBe(1);
  });
});

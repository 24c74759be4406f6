import { describe, expect, test } from "bun:test";
import type { AeadBackend, AeadKey } from "../../../../src/crypto/aead.ts";
import { Keypair, Keypairs } from "../../../../src/protocol/wireguard/keypair.ts";

/** Counts key objects alive; the keys do no cryptography (rotation is all that is tested here). */
function countingBackend(): AeadBackend & { alive: number } {
  const b = {
    name: "counting",
    alive: 0,
    key(): AeadKey {
      b.alive++;
      let live = true;
      return {
        seal: () => 0,
        open: () => -1,
        sealInPlace: () => 0,
        openInPlace: () => -1,
        dispose: () => {
          if (live) b.alive--;
          live = false;
        },
      };
    },
  };
  return b;
}

function rig() {
  const aead = countingBackend();
  const retired: number[] = [];
  const slots = new Keypairs((k) => {
    retired.push(k.localIndex);
    k.dispose();
  });
  let index = 0;
  const make = (isInitiator: boolean) =>
    new Keypair(aead, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), ++index, 100 + index, isInitiator, index);
  return { aead, retired, slots, make };
}

describe("Keypairs", () => {
  test("the key bytes are zeroed once the key objects exist", () => {
    const send = new Uint8Array(32).fill(9);
    const recv = new Uint8Array(32).fill(8);
    new Keypair(countingBackend(), send, recv, 1, 2, true, 0);
    expect([...send, ...recv].every((b) => b === 0)).toBe(true);
  });

  test("initiator: a new keypair becomes current at once, the old one previous", () => {
    const { slots, make, retired } = rig();
    const a = make(true);
    slots.install(a);
    const b = make(true);
    slots.install(b);
    expect([slots.current, slots.previous, slots.next]).toEqual([b, a, null]);
    slots.install(make(true));
    expect(slots.previous).toBe(b);
    expect(retired).toEqual([a.localIndex]);
  });

  test("responder: the new keypair waits in next until a packet under it confirms it", () => {
    const { slots, make, retired } = rig();
    const a = make(true);
    const old = make(true);
    slots.install(old);
    slots.install(a); // previous = old, current = a
    const n = make(false);
    slots.install(n);
    expect([slots.current, slots.previous, slots.next]).toEqual([a, null, n]);
    expect(retired).toEqual([old.localIndex]);
    expect(slots.confirmNext(a)).toBe(false);
    expect(slots.confirmNext(n)).toBe(true);
    expect([slots.current, slots.previous, slots.next]).toEqual([n, a, null]);
    expect(slots.confirmNext(n)).toBe(false);
  });

  test("a second unconfirmed responder keypair replaces the first", () => {
    const { slots, make, retired } = rig();
    const n1 = make(false);
    const n2 = make(false);
    slots.install(n1);
    slots.install(n2);
    expect(slots.next).toBe(n2);
    expect(retired).toEqual([n1.localIndex]);
  });

  test("initiator finishing while an unconfirmed next exists: next becomes previous, current is dropped", () => {
    const { slots, make, retired } = rig();
    const cur = make(true);
    slots.install(cur);
    const n = make(false);
    slots.install(n);
    const mine = make(true);
    slots.install(mine);
    expect([slots.current, slots.previous, slots.next]).toEqual([mine, n, null]);
    expect(retired).toEqual([cur.localIndex]);
  });

  test("never more than three keypairs alive; clear disposes all", () => {
    const { slots, make, aead } = rig();
    for (let i = 0; i < 50; i++) {
      slots.install(make(i % 3 !== 0));
      if (i % 5 === 0 && slots.next) slots.confirmNext(slots.next);
      expect(aead.alive).toBeLessThanOrEqual(6); // 2 key objects per keypair
    }
    slots.clear();
    expect(aead.alive).toBe(0);
    expect([slots.current, slots.previous, slots.next]).toEqual([null, null, null]);
  });
});

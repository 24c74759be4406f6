import { describe, expect, test } from "bun:test";
import {
  KEEPALIVE_TIMEOUT,
  REKEY_TIMEOUT,
  REKEY_TIMEOUT_JITTER_MAX,
  ZERO_KEYS_AFTER,
} from "../../../../src/protocol/wireguard/constants.ts";
import { PeerTimers, Timer } from "../../../../src/protocol/wireguard/timers.ts";

describe("PeerTimers", () => {
  test("retransmission after REKEY_TIMEOUT plus the injected jitter", () => {
    const t = new PeerTimers(() => 200);
    t.handshakeInitiated(1000);
    expect(t.expire(1000 + REKEY_TIMEOUT + 199)).toBe(0);
    expect(t.expire(1000 + REKEY_TIMEOUT + 200)).toBe(Timer.RetransmitHandshake);
    expect(t.expire(1e9)).toBe(0); // disarmed once fired
  });

  test("jitter outside [0, 334) is ignored rather than trusted", () => {
    for (const j of [-5, REKEY_TIMEOUT_JITTER_MAX, 1e6, Number.NaN]) {
      const t = new PeerTimers(() => j);
      t.handshakeInitiated(0);
      expect(t.retransmitAt).toBe(REKEY_TIMEOUT);
    }
  });

  test("handshake completion stops retransmission and resets the attempt count", () => {
    const t = new PeerTimers(() => 0);
    t.handshakeInitiated(0);
    t.handshakeAttempts = 5;
    t.sentLastMinuteHandshake = true;
    t.handshakeComplete();
    expect(t.expire(1e9)).toBe(0);
    expect([t.handshakeAttempts, t.sentLastMinuteHandshake]).toEqual([0, false]);
  });

  test("passive keepalive: armed by data received, cancelled by anything sent, re-armed once if more came in", () => {
    const t = new PeerTimers(() => 0);
    t.dataReceived(0);
    t.anyAuthenticatedSent();
    expect(t.expire(1e9)).toBe(0);
    t.dataReceived(0);
    t.dataReceived(5000); // while pending: needs another one later
    expect(t.expire(KEEPALIVE_TIMEOUT)).toBe(Timer.SendKeepalive);
    t.keepaliveSent(KEEPALIVE_TIMEOUT);
    expect(t.expire(2 * KEEPALIVE_TIMEOUT)).toBe(Timer.SendKeepalive);
    t.keepaliveSent(2 * KEEPALIVE_TIMEOUT);
    expect(t.expire(1e9)).toBe(0);
  });

  test("new handshake after data sent and nothing received for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT", () => {
    const t = new PeerTimers(() => 10);
    t.dataSent(0);
    t.dataSent(3000); // does not push the deadline
    const due = KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 10;
    expect(t.expire(due - 1)).toBe(0);
    expect(t.expire(due)).toBe(Timer.NewHandshake);
    t.dataSent(0);
    t.anyAuthenticatedReceived();
    expect(t.expire(1e9)).toBe(0);
  });

  test("key erasure 3 * REJECT_AFTER_TIME after the last session; zeroKeysSoon does not postpone it", () => {
    const t = new PeerTimers(() => 0);
    t.sessionDerived(100);
    t.zeroKeysSoon(50_000);
    expect(t.next()).toBe(100 + ZERO_KEYS_AFTER);
    expect(t.expire(100 + ZERO_KEYS_AFTER)).toBe(Timer.ZeroKeyMaterial);
  });

  test("persistent keepalive only when configured, from the last traversal", () => {
    const t = new PeerTimers(() => 0);
    t.anyAuthenticatedTraversal(0);
    expect(t.next()).toBe(Number.POSITIVE_INFINITY);
    t.persistentInterval = 25_000;
    t.anyAuthenticatedTraversal(1000);
    t.anyAuthenticatedTraversal(2000);
    expect(t.expire(26_999)).toBe(0);
    expect(t.expire(27_000)).toBe(Timer.PersistentKeepalive);
  });

  test("several timers due together come back as one bit set; clear disarms all", () => {
    const t = new PeerTimers(() => 0);
    t.handshakeInitiated(0);
    t.dataReceived(0);
    t.dataSent(0);
    expect(t.expire(1e9)).toBe(Timer.RetransmitHandshake | Timer.SendKeepalive | Timer.NewHandshake);
    t.handshakeInitiated(0);
    t.sessionDerived(0);
    t.clear();
    expect(t.next()).toBe(Number.POSITIVE_INFINITY);
  });
});

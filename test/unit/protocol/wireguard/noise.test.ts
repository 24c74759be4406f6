import { describe, expect, test } from "bun:test";
import { onEveryBackend } from "./backends.ts";
import { createPrivateKeyObject, generateKeyPair, sharedSecretWith } from "../../../../src/crypto/x25519.ts";
import type { AeadBackend } from "../../../../src/crypto/aead.ts";
import {
  initiationLength,
  noiseStart,
  readInitiation,
  readResponse,
  responseLength,
  writeInitiation,
  writeResponse,
  type RemoteIdentity,
  type StaticIdentity,
} from "../../../../src/protocol/wireguard/noise.ts";
import vectors from "../../../vectors/wireguard/noise.json";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));
const V = vectors.noise_ikpsk2_cacophony;
const msg = (i: number) => {
  const m = V.messages[i];
  if (!m) throw new Error(`no message ${i}`);
  return { payload: unhex(m.payload), ciphertext: unhex(m.ciphertext) };
};

function identity(priv: string): StaticIdentity {
  const key = createPrivateKeyObject(unhex(priv));
  return { privateKey: key, publicKey: key.publicKey };
}

function remote(me: StaticIdentity, pub: Uint8Array, psk: Uint8Array): RemoteIdentity {
  return { publicKey: pub, presharedKey: psk, staticShared: sharedSecretWith(me.privateKey, pub) };
}

function runNoiseSuite(aead: AeadBackend): void {
  describe(`Noise IKpsk2 on ${aead.name}`, () => {
    test("WireGuard's initial chaining key and hash", () => {
      const s = noiseStart();
      expect(hex(s.chainingKey)).toBe(vectors.wireguard_constants.initial_chaining_key);
      expect(hex(s.hash)).toBe(vectors.wireguard_constants.initial_hash);
    });

    test("cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, byte for byte", () => {
      const start = noiseStart(V.protocol_name, unhex(V.init_prologue));
      const psk = unhex(V.init_psks[0] as string);
      const init = identity(V.init_static);
      const resp = identity(V.resp_static);
      expect(hex(resp.publicKey)).toBe(V.init_remote_static);
      const initSide = remote(init, resp.publicKey, psk);

      // message 1: initiator -> responder
      const m1 = msg(0);
      const out1 = new Uint8Array(initiationLength(m1.payload.length));
      const hs = writeInitiation(start, aead, init, initSide, createPrivateKeyObject(unhex(V.init_ephemeral)), m1.payload, out1, 0);
      expect(hs).not.toBeNull();
      expect(hex(out1)).toBe(hex(m1.ciphertext));

      const consumed = readInitiation(start, aead, resp, out1, 0, m1.payload.length, (pub) =>
        hex(pub) === hex(init.publicKey) ? remote(resp, pub, psk) : null,
      );
      expect(consumed).not.toBeNull();
      if (consumed === null || hs === null) return;
      expect(hex(consumed.payload)).toBe(hex(m1.payload));
      expect(hex(consumed.remoteStatic)).toBe(hex(init.publicKey));

      // message 2: responder -> initiator
      const m2 = msg(1);
      const out2 = new Uint8Array(responseLength(m2.payload.length));
      const rk = writeResponse(aead, consumed, createPrivateKeyObject(unhex(V.resp_ephemeral)), m2.payload, out2, 0);
      expect(rk).not.toBeNull();
      expect(hex(out2)).toBe(hex(m2.ciphertext));
      const ik = readResponse(aead, hs, init, initSide, out2, 0, m2.payload.length);
      expect(ik).not.toBeNull();
      if (ik === null || rk === null) return;
      expect(hex(ik.payload)).toBe(hex(m2.payload));
      expect(hex(ik.hash)).toBe(V.handshake_hash);
      expect(hex(rk.hash)).toBe(V.handshake_hash);
      expect(hex(ik.sendKey)).toBe(hex(rk.receiveKey));
      expect(hex(ik.receiveKey)).toBe(hex(rk.sendKey));

      // messages 3-6: transport, alternating, counters 0, 0, 1, 1
      const keys = [aead.key(ik.sendKey), aead.key(rk.sendKey)];
      for (let i = 2; i < 6; i++) {
        const m = msg(i);
        const key = keys[i % 2];
        if (!key) throw new Error("key");
        const ct = new Uint8Array(m.payload.length + 16);
        key.seal(Math.floor((i - 2) / 2), m.payload, null, ct);
        expect(hex(ct)).toBe(hex(m.ciphertext));
      }
    });

    test("a tampered message 1 or an unknown initiator is refused", () => {
      const start = noiseStart();
      const psk = new Uint8Array(32);
      const a = identity(hex(generateKeyPair().privateKey));
      const b = identity(hex(generateKeyPair().privateKey));
      const out = new Uint8Array(initiationLength(12));
      writeInitiation(start, aead, a, remote(a, b.publicKey, psk), generateKeyPair().key, new Uint8Array(12), out, 0);
      const lookup = () => remote(b, a.publicKey, psk);
      expect(readInitiation(start, aead, b, out, 0, 12, lookup)).not.toBeNull();
      expect(readInitiation(start, aead, b, out, 0, 12, () => null)).toBeNull();
      for (const at of [0, 40, 100, out.length - 1]) {
        const bad = out.slice();
        bad[at] = (bad[at] as number) ^ 1;
        expect(readInitiation(start, aead, b, bad, 0, 12, lookup)).toBeNull();
      }
      // a different prologue does not interoperate
      expect(readInitiation(noiseStart(undefined, "other"), aead, b, out, 0, 12, lookup)).toBeNull();
    });

    test("a wrong preshared key fails the response, and leaves the initiator's state usable", () => {
      const start = noiseStart();
      const psk = unhex("11".repeat(32));
      const a = identity(hex(generateKeyPair().privateKey));
      const b = identity(hex(generateKeyPair().privateKey));
      const out1 = new Uint8Array(initiationLength(12));
      const hs = writeInitiation(start, aead, a, remote(a, b.publicKey, psk), generateKeyPair().key, new Uint8Array(12), out1, 0);
      if (hs === null) throw new Error("initiation");
      const bad = readInitiation(start, aead, b, out1, 0, 12, (p) => remote(b, p, new Uint8Array(32)));
      const good = readInitiation(start, aead, b, out1, 0, 12, (p) => remote(b, p, psk));
      if (bad === null || good === null) throw new Error("consume");
      const badOut = new Uint8Array(responseLength(0));
      writeResponse(aead, bad, generateKeyPair().key, new Uint8Array(0), badOut, 0);
      expect(readResponse(aead, hs, a, remote(a, b.publicKey, psk), badOut, 0, 0)).toBeNull();
      const goodOut = new Uint8Array(responseLength(0));
      const rk = writeResponse(aead, good, generateKeyPair().key, new Uint8Array(0), goodOut, 0);
      const ik = readResponse(aead, hs, a, remote(a, b.publicKey, psk), goodOut, 0, 0);
      expect(ik).not.toBeNull();
      expect(hex(ik?.sendKey ?? new Uint8Array())).toBe(hex(rk?.receiveKey ?? new Uint8Array(1)));
    });

    test("a low-order ephemeral key (all-zero DH) is refused", () => {
      const start = noiseStart();
      const b = identity(hex(generateKeyPair().privateKey));
      const out = new Uint8Array(initiationLength(12)); // ephemeral = 0: a low-order point
      expect(readInitiation(start, aead, b, out, 0, 12, () => null)).toBeNull();
    });
  });
}

onEveryBackend(runNoiseSuite);

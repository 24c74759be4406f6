/**
 * The reuseport steering program (platform/linux/steer.ts), run on a small classic-BPF
 * interpreter of the instructions it uses: which socket of the group each kind of
 * datagram reaches. A load past the end of the datagram ends the program with 0, as in
 * the kernel.
 */
import { describe, expect, test } from "bun:test";
import {
  BPF_ALU_ADD_K, BPF_ALU_MOD_K, BPF_ALU_RSH_K, BPF_JMP_JA, BPF_JMP_JEQ_K, BPF_LD_B_ABS, BPF_RET_A, BPF_RET_K, type BpfInsn,
  CONTROL_INDEX, steeringCode,
} from "../../../src/platform/linux/steer.ts";
import { icmpEcho4 } from "../../fakes/packets.ts";

/** Runs `code` on `payload`; returns the program's result (the group index). */
function run(code: readonly BpfInsn[], payload: Uint8Array): number {
  let a = 0;
  for (let pc = 0, steps = 0; pc < code.length && steps < 100; steps++) {
    const [op, jt, jf, k] = code[pc] as BpfInsn;
    pc++;
    switch (op) {
      case BPF_LD_B_ABS:
        if (k >= payload.length) return 0;
        a = payload[k] as number;
        break;
      case BPF_ALU_RSH_K:
        a >>>= k;
        break;
      case BPF_ALU_MOD_K:
        a %= k;
        break;
      case BPF_ALU_ADD_K:
        a += k;
        break;
      case BPF_JMP_JEQ_K:
        pc += a === k ? jt : jf;
        break;
      case BPF_JMP_JA:
        pc += k;
        break;
      case BPF_RET_A:
        return a;
      case BPF_RET_K:
        return k;
      default:
        throw new Error(`opcode ${op} not interpreted`);
    }
  }
  throw new Error("program ran off its end");
}

function ipv6From(lastSrcByte: number): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[23] = lastSrcByte;
  return p;
}

describe("steeringCode", () => {
  test("IPv4 packets: 1 + (last byte of the source address) mod n, the same socket for one client", () => {
    for (const n of [1, 2, 4]) {
      for (let host = 2; host < 12; host++) {
        const pkt = icmpEcho4({ src: `10.8.0.${host}`, dst: "10.8.0.1", id: 1, seq: 1, payload: new Uint8Array(8) });
        expect({ n, host, index: run(steeringCode(n), pkt) }).toEqual({ n, host, index: 1 + (host % n) });
      }
    }
  });

  test("IPv6 packets: by the last byte of the source address", () => {
    expect(run(steeringCode(2), ipv6From(5))).toBe(2);
    expect(run(steeringCode(2), ipv6From(6))).toBe(1);
    expect(run(steeringCode(3), ipv6From(7))).toBe(2);
  });

  test("ToyVpn control (handshake, keepalive), WireGuard messages and junk go to Bun's socket", () => {
    const code = steeringCode(4);
    const wg = (type: number) => new Uint8Array([type, 0, 0, 0, ...new Uint8Array(44)]);
    const handshake = new Uint8Array([0, ...new TextEncoder().encode("secret:device")]);
    for (const d of [new Uint8Array([0]), handshake, wg(1), wg(2), wg(3), wg(4), new Uint8Array([0x55, 1, 2]), new Uint8Array([0xff])]) {
      expect({ first: d[0], index: run(code, d) }).toEqual({ first: d[0], index: CONTROL_INDEX });
    }
  });

  test("an IP-looking datagram too short to hold a source address goes to Bun's socket (the door counts it)", () => {
    expect(run(steeringCode(2), new Uint8Array([0x45, 0, 0, 20]))).toBe(CONTROL_INDEX);
    expect(run(steeringCode(2), new Uint8Array([0x60, 0, 0, 0, 0, 0, 0, 0]))).toBe(CONTROL_INDEX);
  });

  test("WireGuard transport data is spread by the receiver index's low byte; other WireGuard messages and junk reach Bun's socket", () => {
    const transport = (lowByte: number) => {
      const p = new Uint8Array(32);
      p[0] = 4;
      p[4] = lowByte;
      p[7] = 0x9a; // the index's high bits are random
      return p;
    };
    for (const kinds of [{ ip: true, wg: true }, { ip: false, wg: true }]) {
      for (const n of [1, 2, 3, 4]) {
        for (const low of [0, 1, 5, 255]) expect({ kinds, n, low, index: run(steeringCode(n, kinds), transport(low)) }).toEqual({ kinds, n, low, index: 1 + (low % n) });
      }
      const initiation = new Uint8Array(148);
      initiation[0] = 1;
      expect(run(steeringCode(2, kinds), initiation)).toBe(CONTROL_INDEX);
      const notZero = transport(1);
      notZero[2] = 1; // type 4 but not three zero bytes: not WireGuard
      expect(run(steeringCode(2, kinds), notZero)).toBe(CONTROL_INDEX);
      expect(run(steeringCode(2, kinds), new Uint8Array([4, 0, 0]))).toBe(CONTROL_INDEX); // too short
    }
    // Shared port: IP packets still spread by source; WireGuard's own port: they go to Bun's socket (junk there).
    const ip = icmpEcho4({ src: "10.8.0.5", dst: "10.8.0.1", id: 1, seq: 1 });
    expect(run(steeringCode(2, { ip: true, wg: true }), ip)).toBe(1 + (5 % 2));
    expect(run(steeringCode(2, { ip: false, wg: true }), ip)).toBe(CONTROL_INDEX);
    // Without WireGuard a type 4 message is not data.
    expect(run(steeringCode(2), transport(1))).toBe(CONTROL_INDEX);
  });
});

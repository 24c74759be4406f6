/**
 * @module platform/linux/steer
 * N more UDP sockets on the port of an existing one (Bun.udpSocket's), with the kernel
 * steering datagrams between them:
 *
 *   1. SO_REUSEPORT is switched on for the existing socket (allowed after bind; the
 *      kernel builds the reuseport group when the second socket joins)
 *   2. N new sockets of the same family (and IPV6_V6ONLY setting) with SO_REUSEPORT bind
 *      to exactly the address getsockname() reports; group index 0 = the existing
 *      socket, 1..N = the new ones in order
 *   3. a classic BPF program (SO_ATTACH_REUSEPORT_CBPF) picks the index: a datagram
 *      whose first byte is not an IPv4/IPv6 version nibble (0x4_ / 0x6_) goes to index 0
 *      (ToyVpn control: handshakes and keepalives start with 0; WireGuard messages with
 *      1..4 when it shares the port; junk); an IPv4/IPv6 packet goes to
 *      1 + (last byte of its source address) mod N, so all data of one client (one
 *      tunnel address) reaches the same socket, in order. With WireGuard transport data
 *      (its own port, or the shared one) a type 4 message goes to 1 + (the low byte of its
 *      receiver index) mod N. A load past the end of a short datagram ends the program
 *      with 0 (index 0).
 *
 * When the new sockets are closed an index >= the group size makes the kernel fall back
 * to its hash, so everything reaches the existing socket again. The program sees the UDP
 * payload at offset 0 (net/core/sock_reuseport.c skips the UDP header).
 */

import { ptr } from "bun:ffi";
import { SysError } from "../../lib/errors.ts";
import { AF_INET6, errno, HOST_LE, libc, SOCK_CLOEXEC, SOCK_DGRAM } from "./libc.ts";
import { setSocketBuffers } from "./sockbuf.ts";

const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_ATTACH_REUSEPORT_CBPF = 51;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;

// classic BPF opcodes (linux/bpf_common.h, linux/filter.h)
/** A = byte at offset k. */
export const BPF_LD_B_ABS = 0x30;
/** Jump by jt when A == k, else by jf. */
export const BPF_JMP_JEQ_K = 0x15;
/** Jump by k. */
export const BPF_JMP_JA = 0x05;
/** A >>= k. */
export const BPF_ALU_RSH_K = 0x74;
/** A %= k. */
export const BPF_ALU_MOD_K = 0x94;
/** A += k. */
export const BPF_ALU_ADD_K = 0x04;
/** Return k. */
export const BPF_RET_K = 0x06;
/** Return A. */
export const BPF_RET_A = 0x16;
/** Offsets of the last source-address byte in an IPv4 / IPv6 header. */
const V4_SRC_LAST = 15;
const V6_SRC_LAST = 23;
/** Offset of a WireGuard transport message's receiver index (little-endian: its low byte first). */
const WG_INDEX_FIRST = 4;
/** struct sock_filter: u16 code, u8 jt, u8 jf, u32 k. */
const SOCK_FILTER_SIZE = 8;
/** struct sock_fprog: u16 len, (pad), struct sock_filter *filter. */
const SOCK_FPROG_SIZE = 16;

/** Group index of the socket that gets everything but IP packets (the one that was there first). */
export const CONTROL_INDEX = 0;

/** One cBPF instruction: [code, jt, jf, k]. */
export type BpfInsn = readonly [number, number, number, number];

/** What a group's data sockets take: IP packets (ToyVpn data), WireGuard transport data, or both (one shared port). */
export interface SteerKinds {
  ip: boolean;
  wg: boolean;
}

/** An instruction whose jumps name labels (resolved by `assemble`). */
type Asm = readonly [number, string | number, string | number, number] | string;

/** Resolves labels (strings in the list, and as jump targets) into relative jumps. */
function assemble(asm: readonly Asm[]): BpfInsn[] {
  const at = new Map<string, number>();
  let n = 0;
  for (const a of asm) {
    if (typeof a === "string") at.set(a, n);
    else n++;
  }
  const out: BpfInsn[] = [];
  for (const a of asm) {
    if (typeof a === "string") continue;
    const i = out.length;
    const rel = (t: string | number): number => (typeof t === "number" ? t : (at.get(t) as number) - i - 1);
    const [op, jt, jf, k] = a;
    out.push(op === BPF_JMP_JA ? [op, 0, 0, rel(jt)] : [op, rel(jt), rel(jf), k]);
  }
  return out;
}

/**
 * The steering program for `n` data sockets (see the module comment). WireGuard transport
 * data (type 4 and three zero bytes) goes to 1 + (first byte of the receiver index) mod n:
 * the low bits of an index name its keypair's slot, so one worker owns each keypair's
 * replay window.
 */
export function steeringCode(n: number, kinds: SteerKinds = { ip: true, wg: false }): BpfInsn[] {
  const asm: Asm[] = [[BPF_LD_B_ABS, 0, 0, 0]]; //            A = payload[0]
  if (kinds.wg) asm.push([BPF_JMP_JEQ_K, "wg", kinds.ip ? 0 : "control", 4]);
  if (kinds.ip) {
    asm.push(
      [BPF_ALU_RSH_K, 0, 0, 4], //                        A = version nibble
      [BPF_JMP_JEQ_K, "v4", 0, 4],
      [BPF_JMP_JEQ_K, 0, "control", 6],
      [BPF_LD_B_ABS, 0, 0, V6_SRC_LAST], //                A = last byte of the IPv6 source
      [BPF_JMP_JA, "spread", 0, 0],
      "v4",
      [BPF_LD_B_ABS, 0, 0, V4_SRC_LAST], //                A = last byte of the IPv4 source
      [BPF_JMP_JA, "spread", 0, 0],
    );
  }
  if (kinds.wg) {
    asm.push("wg");
    for (const k of [1, 2, 3]) asm.push([BPF_LD_B_ABS, 0, 0, k], [BPF_JMP_JEQ_K, 0, "control", 0]);
    asm.push([BPF_LD_B_ABS, 0, 0, WG_INDEX_FIRST], [BPF_JMP_JA, "spread", 0, 0]);
  }
  if (!kinds.ip && !kinds.wg) asm.push([BPF_JMP_JA, "control", 0, 0]);
  asm.push(
    "spread",
    [BPF_ALU_MOD_K, 0, 0, n], //                           A %= n
    [BPF_ALU_ADD_K, 0, 0, 1], //                           A += 1
    [BPF_RET_A, 0, 0, 0], //                               data socket A
    "control",
    [BPF_RET_K, 0, 0, CONTROL_INDEX], //                   Bun's socket
  );
  return assemble(asm);
}

/** `code` as struct sock_filter[] and the struct sock_fprog pointing at it (keep `prog` referenced during the call). */
function encodeProgram(code: readonly BpfInsn[]): { prog: Uint8Array; fprog: Uint8Array } {
  const prog = new Uint8Array(new ArrayBuffer(code.length * SOCK_FILTER_SIZE));
  const dv = new DataView(prog.buffer);
  code.forEach(([op, jt, jf, k], i) => {
    dv.setUint16(i * SOCK_FILTER_SIZE, op, HOST_LE);
    dv.setUint8(i * SOCK_FILTER_SIZE + 2, jt);
    dv.setUint8(i * SOCK_FILTER_SIZE + 3, jf);
    dv.setUint32(i * SOCK_FILTER_SIZE + 4, k, HOST_LE);
  });
  const fprog = new Uint8Array(new ArrayBuffer(SOCK_FPROG_SIZE));
  const fv = new DataView(fprog.buffer);
  fv.setUint16(0, code.length, HOST_LE);
  fv.setBigUint64(8, BigInt(ptr(prog)), HOST_LE);
  return { prog, fprog };
}

/** The steered data sockets. */
export interface SteeredSockets {
  /** The new sockets' fds, data socket i = group index i + 1 (blocking; callers pass MSG_DONTWAIT where needed). Caller closes them. */
  fds: number[];
  /** AF_INET or AF_INET6: the layout of the addresses recvmmsg reports. */
  family: number;
}

function setInt(fd: number, level: number, opt: number, value: number): boolean {
  return libc.setsockopt(fd, level, opt, new Int32Array([value]), 4) === 0;
}

function getInt(fd: number, level: number, opt: number): number {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  return libc.getsockopt(fd, level, opt, v, len) === 0 ? (v[0] as number) : -1;
}

/** One data socket bound beside the control socket's address `name`. Throws SysError. */
function openOne(controlFd: number, family: number, name: Uint8Array, nameLen: number, bufBytes: number): number {
  const fd = libc.socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new SysError("socket", errno(), "open a data socket");
  try {
    if (family === AF_INET6) {
      const v6only = getInt(controlFd, IPPROTO_IPV6, IPV6_V6ONLY);
      if (!setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only === 1 ? 1 : 0)) throw new SysError("setsockopt", errno(), "set IPV6_V6ONLY on a data socket");
    }
    if (!setInt(fd, SOL_SOCKET, SO_REUSEPORT, 1)) throw new SysError("setsockopt", errno(), "set SO_REUSEPORT on a data socket");
    if (bufBytes > 0) {
      try {
        setSocketBuffers(fd, bufBytes);
      } catch {
        // the kernel default: slower under bursts, still correct
      }
    }
    if (libc.bind(fd, name, nameLen) !== 0) throw new SysError("bind", errno(), "bind a data socket beside the UDP socket");
    return fd;
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}

/**
 * Opens `n` data sockets beside `controlFd` (see the module comment) with `bufBytes`
 * socket buffers each (0 = kernel default). Throws SysError naming the failed step; on
 * failure nothing is left open (SO_REUSEPORT may stay set on `controlFd`, which is harmless).
 */
export function openSteeredSockets(controlFd: number, n: number, bufBytes: number, kinds: SteerKinds = { ip: true, wg: false }): SteeredSockets {
  if (!setInt(controlFd, SOL_SOCKET, SO_REUSEPORT, 1)) throw new SysError("setsockopt", errno(), "set SO_REUSEPORT on the UDP socket");
  const name = new Uint8Array(new ArrayBuffer(128));
  const nameLen = new Uint32Array([128]);
  if (libc.getsockname(controlFd, name, nameLen) !== 0) throw new SysError("getsockname", errno(), "read the UDP socket's address");
  const family = new DataView(name.buffer).getUint16(0, HOST_LE);
  const fds: number[] = [];
  try {
    for (let i = 0; i < n; i++) fds.push(openOne(controlFd, family, name, nameLen[0] as number, bufBytes));
    const { prog, fprog } = encodeProgram(steeringCode(n, kinds));
    const rc = libc.setsockopt(fds[0] as number, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog, SOCK_FPROG_SIZE);
    void prog; // referenced until the call returned: the kernel copies the program
    if (rc !== 0) throw new SysError("setsockopt", errno(), "attach the control/data steering program");
    return { fds, family };
  } catch (e) {
    for (const fd of fds) libc.close(fd);
    throw e;
  }
}

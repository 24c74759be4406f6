/**
 * @module test/contract/tun.contract.test
 * The TunDevice contract (tun.case.ts) on FakeTun every time, and on the real LinuxTun
 * inside a fresh network namespace as root: the same suite (tun-linux.suite.ts, run
 * with `ip netns exec`), then what only the real device has: a paced flood
 * (`udp-flood.ts`) checked packet by packet with idle CPU measured, the ioctls of
 * netconf, and TUNSETIFF errors (`tun-probe.ts`, a child in the namespace). Without root
 * the namespace part is skipped with the reason printed. Argument checks that fail
 * before any system call run everywhere.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { ConfigError } from "../../src/lib/errors.ts";
import { openTun } from "../../src/platform/linux/tun.ts";
import { openLinuxTun } from "../../src/tun/linux.ts";
import { FakeTun } from "../fakes/fake-tun.ts";
import { parseUdp4, udp4 } from "../fakes/packets.ts";
import {
  BUN, bunTestInNetns, createNetns, deleteLeftovers, deleteNetns, ipOk, killChild, lines, netnsUnavailable, spawnInNetns, within,
} from "./netns-util.ts";
import { PEER_ADDR, PEER_PORT, TUN_ADDR, type TunHarness, tunContract } from "./tun.case.ts";

const PROBE = `${import.meta.dir}/tun-probe.ts`;
const FLOOD = `${import.meta.dir}/udp-flood.ts`;
/** Datagrams in the flood, and how many per 1 ms tick (≈ 20-50k pps, bounded by the sender). */
const FLOOD_COUNT = 20_000;
const FLOOD_BATCH = 50;
const TUN_NAME = "wtp0";

const unavailable = netnsUnavailable();
if (unavailable !== null) console.warn(`SKIP LinuxTun contract in a netns: ${unavailable}`);

/** FakeTun behind the contract's harness: packets are built and parsed here instead of by a kernel. */
async function openFake(): Promise<TunHarness> {
  const tun = new FakeTun(1400);
  const port = 5555;
  return {
    tun,
    port,
    received: () =>
      tun.written.flatMap((p) => {
        const u = parseUdp4(p);
        return u !== null && u.dst === TUN_ADDR && u.dport === port ? [u.payload.slice()] : [];
      }),
    async sendIntoTunnel(payloads) {
      tun.inject(...payloads.map((payload) => udp4({ src: TUN_ADDR, dst: PEER_ADDR, sport: 40000, dport: PEER_PORT, payload })));
    },
    async breakReads() {
      tun.failRead(new Error("cannot read from fake0: EBADFD"));
    },
    async settle() {},
    async dispose() {
      tun.close();
    },
  };
}

tunContract("FakeTun", openFake);

describe("openTun / openLinuxTun argument checks (no system call)", () => {
  test.each([
    ["bad/name", "must not contain '/'"],
    ["", "is empty"],
    ["warren-interface-0", "at most 15"],
    ["has space", "whitespace"],
    ["a:b", "':'"],
  ])("%j is rejected before TUNSETIFF", (name, why) => {
    expect(() => openTun(name)).toThrow(ConfigError);
    expect(() => openTun(name)).toThrow(why);
  });

  test("openLinuxTun validates the name first", () => {
    expect(() => openLinuxTun({ name: "x/y", mtu: 1400 })).toThrow(/not a valid interface name/);
  });
});

describe.skipIf(unavailable !== null)("LinuxTun in a network namespace (root)", () => {
  let ns = "";
  const children: Subprocess[] = [];

  beforeAll(() => {
    deleteLeftovers();
    ns = createNetns("tun");
  });

  afterAll(() => {
    for (const child of children) killChild(child);
    if (ns !== "") deleteNetns(ns);
  });

  /** Runs the probe in `mode` to completion and returns its result line, parsed. */
  async function runProbe(mode: string): Promise<Record<string, unknown>> {
    const probe = spawnInNetns(ns, [BUN, PROBE, mode, TUN_NAME]);
    children.push(probe);
    const out = await within(20_000, `probe ${mode}`, new Response(probe.stdout).text());
    const code = await within(5_000, `probe ${mode} exit`, probe.exited);
    if (code !== 0) throw new Error(`probe ${mode} exited ${code}: ${await new Response(probe.stderr).text()}`);
    return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
  }

  test("passes the TunDevice contract suite (tun-linux.suite.ts, run inside the namespace)", async () => {
    const r = await bunTestInNetns(ns, `${import.meta.dir}/tun-linux.suite.ts`);
    if (r.code !== 0 || r.failed > 0) console.error(r.output);
    expect(r.failed).toBe(0);
    expect(r.passed).toBe(14); // 7 cases, on the plain TUN and on the fast path's kind
    expect(r.code).toBe(0);
    expect(ipOk("-n", ns, "link", "show", "wtc0")).toBe(false); // every case closed its TUN
  }, 120_000);

  test("delivers every packet whole, writes, idles at ~0 CPU, removes the interface on close", async () => {
    const probe = spawnInNetns(ns, [BUN, PROBE, "flood", TUN_NAME, String(FLOOD_COUNT)]);
    children.push(probe);
    const stderr = new Response(probe.stderr).text();
    const out = lines(probe.stdout);
    const ready = await within(15_000, "probe ready", out.next());
    if (ready.done) throw new Error(`probe died: ${await stderr}`);
    expect(JSON.parse(ready.value)).toMatchObject({ event: "ready", name: TUN_NAME });
    // A queue that holds the whole flood: what is measured is the reader (every packet whole,
    // in order), not whether a loaded 2-CPU machine descheduled it long enough for the
    // default 500-packet queue to overflow.
    expect(ipOk("-n", ns, "link", "set", "dev", TUN_NAME, "txqueuelen", String(FLOOD_COUNT))).toBe(true);

    const flood = spawnInNetns(ns, [BUN, FLOOD, "10.99.0.2", "9", String(FLOOD_COUNT), String(FLOOD_BATCH)]);
    children.push(flood);
    const started = performance.now();
    const floodOut = await within(40_000, "flood", new Response(flood.stdout).text());
    const floodMs = performance.now() - started;
    const { sent } = JSON.parse(floodOut) as { sent: number };
    probe.stdin.write("done\n");
    await probe.stdin.end();

    const resultLine = await within(15_000, "probe result", out.next());
    if (resultLine.done) throw new Error(`probe died: ${await stderr}`);
    const resultAt = performance.now();
    const exitCode = await within(5_000, "probe exits by itself after close()", probe.exited);
    const exitMs = performance.now() - resultAt;
    const r = JSON.parse(resultLine.value) as {
      valid: number; malformed: number; duplicates: number; outOfOrder: number; emptyFlushes: number;
      unflushed: number; flushes: number; maxBatch: number; firstBad: string[]; errors: string[];
      stats: { readPackets: number; writePackets: number; writeErrors: number; readErrors: number };
      write: { ok: boolean; receivedText: boolean }; idleCpuMs: number; ifGone: string;
    };
    const loss = (sent - r.valid) / sent;
    console.info(
      `tun contract: sent ${sent} in ${floodMs.toFixed(0)} ms, valid ${r.valid}, malformed ${r.malformed}, ` +
        `loss ${(loss * 100).toFixed(2)}%, out of order ${r.outOfOrder}, batches ${r.flushes} (max ${r.maxBatch}), ` +
        `idle CPU ${r.idleCpuMs.toFixed(1)} ms / 2 s, exit ${exitMs.toFixed(0)} ms after close`,
    );

    expect(r.firstBad).toEqual([]);
    expect(r.malformed).toBe(0);
    expect(r.duplicates).toBe(0);
    expect(r.errors).toEqual([]);
    expect(sent).toBeGreaterThan(FLOOD_COUNT * 0.99);
    expect(loss).toBeLessThanOrEqual(0.01);
    expect(r.emptyFlushes).toBe(0); // flush() only ends a non-empty batch
    expect(r.unflushed).toBe(0); // ... and every batch is ended
    expect(r.stats.readErrors).toBe(0);
    expect(r.write).toEqual({ ok: true, receivedText: true });
    expect(r.stats.writePackets).toBe(1);
    expect(r.idleCpuMs).toBeLessThan(50);
    expect(r.ifGone).toContain("ENODEV"); // gone as soon as close() returned
    expect(exitCode).toBe(0);
    expect(ipOk("-n", ns, "link", "show", TUN_NAME)).toBe(false);
  }, 90_000);

  test("netconf: MTU, addresses, IPv4/IPv6 routes and default gateways via ioctls", async () => {
    const r = (await runProbe("netconf")) as {
      mtuAfter: string; badMtu: string; dupRoute: string; noDev: string; noDevIndex: string; badAddr: string; link: string;
      added: { v4: string; v6: string; gw4: unknown; gw6: unknown };
      deleted: { v4: string; v6: string; gw4: unknown; gw6: unknown };
    };
    expect(r.mtuAfter).toBe("1300");
    expect(r.badMtu).toBe(`SysError: cannot set MTU 20 on ${TUN_NAME}: EINVAL`);
    expect(r.link).toContain("inet 10.99.0.1/24");
    expect(r.link).toContain("inet6 fd99::1/64");
    expect(r.added.v4).toContain(`10.98.0.0/24 dev ${TUN_NAME}`);
    expect(r.added.v4).toContain(`10.97.0.0/16 via 10.99.0.2 dev ${TUN_NAME}`);
    expect(r.added.v4).toContain(`default via 10.99.0.254 dev ${TUN_NAME}`);
    expect(r.added.v6).toContain(`fd98::/64 dev ${TUN_NAME}`);
    expect(r.added.v6).toContain(`default via fd99::2 dev ${TUN_NAME}`);
    expect(r.added.gw4).toEqual({ gateway: "10.99.0.254", dev: TUN_NAME });
    expect(r.added.gw6).toEqual({ gateway: "fd99::2", dev: TUN_NAME });
    expect(r.dupRoute).toBe(`SysError: cannot add route fd98::/64 dev ${TUN_NAME}: EEXIST`);
    expect(r.deleted.v4).not.toContain("10.98.0.0");
    expect(r.deleted.v4).not.toContain("default");
    expect(r.deleted.v6).not.toContain("fd98::");
    expect(r.deleted.v6).not.toContain("default");
    expect(r.deleted.gw4).toBeNull();
    expect(r.deleted.gw6).toBeNull();
    expect(r.noDev).toBe("SysError: cannot add route 10.96.0.0/24 dev nosuchdev0: ENODEV");
    expect(r.noDevIndex).toBe("SysError: cannot find interface nosuchdev0: ENODEV");
    expect(r.badAddr).toContain("ConfigError");
    expect(ipOk("-n", ns, "link", "show", TUN_NAME)).toBe(false);
  }, 30_000);

  test("a throwing sink or a deleted interface stops reading with one onError call", async () => {
    const r = (await runProbe("failures")) as {
      sinkErrors: string[]; sinkStats: { readErrors: number }; del: number; goneErrors: string[]; goneStats: { readErrors: number };
    };
    expect(r.sinkErrors).toEqual([`TUN ${TUN_NAME}: packet handler threw: boom`]);
    expect(r.sinkStats.readErrors).toBe(1);
    expect(r.del).toBe(0);
    expect(r.goneErrors).toHaveLength(1);
    expect(r.goneErrors[0]).toContain(`cannot read from ${TUN_NAME}`);
    expect(r.goneErrors[0]).toContain("was deleted");
    expect(r.goneStats.readErrors).toBe(1);
  }, 30_000);

  test("TUNSETIFF failures name the interface and the fix", async () => {
    const r = await runProbe("errors");
    expect(r.busy).toBe(`SysError: cannot create TUN interface ${TUN_NAME}: EBUSY — interface ${TUN_NAME} is in use by another process`);
    expect(r.notTun).toContain("cannot create TUN interface lo: EINVAL — an interface named lo exists and is not a TUN device");
    expect(r.templateName).toMatch(/^wtp\d+$/); // `wtp%d`: the kernel picks the name
  }, 30_000);
});

/** admin/capture: the writer's bounded buffering (drop and count, never block) and the tap switch. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CaptureManager, CaptureWriter, CHUNK_SIZE, MAX_CHUNKS } from "../../../src/admin/capture.ts";
import type { Session } from "../../../src/server/session.ts";
import { readPcap } from "../../../src/protocol/pcap.ts";
import { quietLogger } from "../../lib/log.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-cap-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("capture", () => {
  test("a burst larger than the buffers is cut: the rest is dropped and counted, what was kept is intact", async () => {
    const w = CaptureWriter.create("burst", join(dir, "burst.pcap"), 1 << 30);
    const pkt = new Uint8Array(1400).fill(0x45);
    const n = Math.ceil((MAX_CHUNKS * CHUNK_SIZE * 1.5) / 1416);
    for (let i = 0; i < n; i++) w.record(pkt); // one turn of the event loop: nothing is written meanwhile
    expect(w.dropped).toBeGreaterThan(0);
    expect(w.packets + w.dropped).toBe(n);
    await w.close();
    const r = readPcap(new Uint8Array(readFileSync(join(dir, "burst.pcap"))));
    expect(r.ok && r.records.length).toBe(w.packets);
  });

  test("the size limit stops recording; the file never exceeds it", async () => {
    const w = CaptureWriter.create("lim", join(dir, "lim.pcap"), 2000);
    for (let i = 0; i < 10; i++) w.record(new Uint8Array(500));
    expect([w.packets, w.full]).toEqual([3, true]);
    await w.close();
    expect(readFileSync(join(dir, "lim.pcap")).length).toBe(24 + 3 * 516);
  });

  test("router.tap is set only while a capture runs; an existing file is not overwritten", async () => {
    const host: { tap: ((s: Session, p: Uint8Array, inbound: boolean) => void) | null } = { tap: null };
    const m = new CaptureManager(host, quietLogger);
    const s = { label: "p1", open: true } as Session;
    const other = { label: "p2", open: true } as Session;
    m.start(s, join(dir, "p1.pcap"), 1 << 20);
    expect(host.tap).not.toBeNull();
    host.tap?.(s, new Uint8Array(40), true);
    host.tap?.(other, new Uint8Array(40), false); // not captured
    expect(() => m.start(other, join(dir, "p1.pcap"), 1 << 20)).toThrow(/cannot create capture file .*p1\.pcap: EEXIST/);
    const info = await m.stop(s);
    expect(info).toMatchObject({ packets: 1, dropped: 0 });
    expect(host.tap).toBeNull();
    expect(await m.stop(s)).toBeNull();
  });
});

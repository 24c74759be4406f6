/**
 * admin/capture-dir: the --capture-dir cap on real files in a temp folder. Only warren's
 * own capture files count and go, oldest first; running captures are never deleted (the
 * newest are stopped when they alone are over the cap); checks are periodic while
 * captures run, and one at a time.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CAPTURE_NAME_RE, type CaptureHost, CaptureDirKeeper } from "../../../src/admin/capture-dir.ts";
import { capturePath } from "../../../src/admin/commands.ts";
import type { Session } from "../../../src/server/session.ts";
import { recordingLogger } from "../../lib/log.ts";
import { waitFor } from "../../lib/wait.ts";

const ROOT = mkdtempSync(join(tmpdir(), "warren-capdir-"));
afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
let n = 0;
const KB = 1024;
const HOUR = 3600_000;

/** A fresh folder, and a file of `size` bytes in it last modified `ageMs` ago. */
function folder(): { dir: string; file: (name: string, size: number, ageMs?: number) => string } {
  const dir = join(ROOT, `d${++n}`);
  mkdirSync(dir);
  return {
    dir,
    file(name, size, ageMs = 0) {
      const p = join(dir, name);
      writeFileSync(p, new Uint8Array(size));
      const t = (Date.now() - ageMs) / 1000;
      utimesSync(p, t, t);
      return p;
    },
  };
}

/** A stand-in for the CaptureManager: running captures by file; stop() ends one. */
function host(files: string[]): CaptureHost & { stopped: string[] } {
  const run = files.map((file, i) => ({ session: { serial: i, label: `c${i}` } as Session, file }));
  const stopped: string[] = [];
  return {
    stopped,
    running: () => run.filter((r) => !stopped.includes(r.file)),
    stop: async (s: Session) => {
      const r = run.find((x) => x.session === s);
      if (r) stopped.push(r.file);
    },
  };
}

describe("capture dir cap", () => {
  test("the names capturePath makes are the names the keeper counts", () => {
    expect(CAPTURE_NAME_RE.test(capturePath("/d", "phone-1", Date.UTC(2026, 10, 22, 5, 3, 51)).slice(3))).toBe(true);
    expect(CAPTURE_NAME_RE.test(capturePath("/d", "#7", 0).slice(3))).toBe(true);
    expect(CAPTURE_NAME_RE.test("phone1-20261122T050351Z-2.pcap")).toBe(true);
    for (const other of ["notes.pcap", "phone1-20261122T050351Z.pcapng", "phone1.pcap", "../x-20261122T050351Z.pcap"]) expect(CAPTURE_NAME_RE.test(other)).toBe(false);
  });

  test("oldest finished files go first; running, foreign, linked and folder entries are never touched", async () => {
    const f = folder();
    const old1 = f.file("a-20260101T000000Z.pcap", 400 * KB, 3 * HOUR);
    const old2 = f.file("b-20260101T000000Z.pcap", 400 * KB, 2 * HOUR);
    const old3 = f.file("c-20260101T000000Z.pcap", 400 * KB, 1 * HOUR);
    const live = f.file("d-20260101T000000Z.pcap", 300 * KB, 4 * HOUR); // oldest of all, but being written
    const foreign = f.file("notes.pcap", 2048 * KB, 5 * HOUR);
    const outside = join(ROOT, `outside${++n}-20260101T000000Z.pcap`);
    writeFileSync(outside, new Uint8Array(900 * KB));
    symlinkSync(outside, join(f.dir, "e-20260101T000000Z.pcap"));
    mkdirSync(join(f.dir, "f-20260101T000000Z.pcap"));
    const h = host([live]);
    const log = recordingLogger();
    const k = new CaptureDirKeeper(f.dir, () => 1024 * KB, h, log);
    const r = await k.check();
    expect(r.deleted).toEqual([old1, old2]);
    expect(r.total).toBe(700 * KB);
    expect(r.stopped).toEqual([]);
    for (const p of [old3, live, foreign, outside, join(f.dir, "e-20260101T000000Z.pcap"), join(f.dir, "f-20260101T000000Z.pcap")]) expect(existsSync(p)).toBe(true);
    expect(log.lines.some((l) => l.includes("deleted 2 oldest capture file(s)"))).toBe(true);
    expect((await k.check()).deleted).toEqual([]); // under the cap now: nothing more goes
  });

  test("running captures alone over the cap: the newest are stopped, their files kept", async () => {
    const f = folder();
    const a = f.file("a-20260101T000000Z.pcap", 600 * KB);
    const b = f.file("b-20260101T000000Z.pcap", 300 * KB);
    const c = f.file("c-20260101T000000Z.pcap", 300 * KB);
    const h = host([a, b, c]); // started in this order
    const r = await new CaptureDirKeeper(f.dir, () => 1000 * KB, h, recordingLogger()).check();
    expect(r.deleted).toEqual([]);
    expect(h.stopped).toEqual([c]);
    expect([a, b, c].every((p) => existsSync(p))).toBe(true);
  });

  test("periodic while captures run; one check at a time; stops when none runs", async () => {
    const f = folder();
    const live = f.file("live-20260101T000000Z.pcap", 10 * KB);
    const h = host([live]);
    const k = new CaptureDirKeeper(f.dir, () => 100 * KB, h, recordingLogger(), 20);
    const first = k.check();
    expect(k.check()).toBe(first); // joined, not a second scan at once
    await first;
    k.started();
    const later = f.file("x-20260101T000000Z.pcap", 200 * KB, HOUR); // appears while capturing
    await waitFor("the periodic check to delete it", () => !existsSync(later), { timeoutMs: 5000 });
    expect(readdirSync(f.dir)).toEqual(["live-20260101T000000Z.pcap"]);
    h.stopped.push(live); // the capture ends: the timer goes away by itself
    await Bun.sleep(60);
    const after = f.file("y-20260101T000000Z.pcap", 200 * KB, HOUR);
    await Bun.sleep(80);
    expect(existsSync(after)).toBe(true);
    k.stop();
  });
});

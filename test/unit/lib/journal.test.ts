/**
 * lib/log under systemd: when stderr is the stream JOURNAL_STREAM names (st_dev:st_ino,
 * checked as sd-daemon does), lines carry `<N>` priorities and no time of their own.
 * Runs a small Bun program whose stderr is a file and whose JOURNAL_STREAM names that
 * file (or another one).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isJournalStream } from "../../../src/lib/log.ts";

const ROOT = resolve(import.meta.dir, "../../..");
const dir = mkdtempSync(join(tmpdir(), "warren-journal-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, "emit.ts");
writeFileSync(script, `
import { configureLogging, getLogger } from ${JSON.stringify(join(ROOT, "src/lib/log.ts"))};
import { logEvent } from ${JSON.stringify(join(ROOT, "src/lib/log-event.ts"))};
configureLogging({ level: "debug", format: process.argv[2] });
const log = getLogger("warren");
log.info(logEvent("session-up", { session: "p1", address: "10.8.0.2" }, "session up device=p1 address=10.8.0.2"));
log.warn("handshake rejected from 192.0.2.7:5555 reason=bad-secret");
getLogger("warren:auth").error("bad file\\nsecond line");
log.debug("dbg");
`);

/** Runs the script with stderr = a fresh file; JOURNAL_STREAM names that file (`same`) or another one. Returns stderr. */
async function run(format: string, journal: "same" | "other" | "unset"): Promise<string> {
  const file = join(dir, `err-${format}-${journal}.txt`);
  const fd = openSync(file, "w");
  const other = openSync(join(dir, "other.txt"), "w");
  const st = fstatSync(journal === "same" ? fd : other);
  const env: Record<string, string | undefined> = { ...process.env, JOURNAL_STREAM: journal === "unset" ? undefined : `${st.dev}:${st.ino}` };
  const p = Bun.spawn([process.execPath, script, format], { stdio: ["ignore", "ignore", fd], env });
  const code = await p.exited;
  closeSync(fd);
  closeSync(other);
  expect(code).toBe(0);
  return readFileSync(file, "utf8");
}

describe("logging to the journal", () => {
  test("stderr is the journal: <N> priorities, no timestamps, tags kept, each line of a multi-line message prefixed", async () => {
    expect(await run("auto", "same")).toBe([
      "<6>[warren] session up device=p1 address=10.8.0.2",
      "<4>[warren] handshake rejected from 192.0.2.7:5555 reason=bad-secret",
      "<3>[warren:auth] bad file",
      "<3>second line",
      "<7>[warren] dbg",
      "",
    ].join("\n"));
  });

  test("json under the journal: prefixed json lines with the event's fields", async () => {
    const lines = (await run("json", "same")).trimEnd().split("\n");
    expect(lines.map((l) => l.slice(0, 4))).toEqual(["<6>{", "<4>{", "<3>{", "<7>{"]);
    expect(JSON.parse((lines[0] as string).slice(3))).toMatchObject({ level: "info", event: "session-up", session: "p1", address: "10.8.0.2" });
  });

  test("JOURNAL_STREAM naming another stream (a child's redirected stderr) or unset: plain text lines with a time", async () => {
    for (const j of ["other", "unset"] as const) {
      const out = await run("auto", j);
      expect(out.split("\n")[1]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN {2}\[warren\] handshake rejected from 192\.0\.2\.7:5555 reason=bad-secret$/);
      expect(out).not.toContain("<4>");
    }
  });

  test("isJournalStream compares device and inode of the fd", () => {
    const fd = openSync(join(dir, "x.txt"), "w");
    try {
      const st = fstatSync(fd);
      expect(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd)).toBe(true);
      expect(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1}` }, fd)).toBe(false);
      expect(isJournalStream({ JOURNAL_STREAM: "junk" }, fd)).toBe(false);
      expect(isJournalStream({}, fd)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });
});

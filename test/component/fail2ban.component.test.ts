/**
 * The fail2ban filter shipped in docs/OPERATIONS.md, run by Debian's `fail2ban-regex`
 * against log lines warren wrote: the server on fakes, its log through the real
 * formatting (lineLogger), attacked from several addresses, one of them hard enough to
 * be locked out and one fast enough to be rate-limited into a summary line. The same
 * lines in the journal's form (`journalctl -o short`) must match too.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { lineLogger } from "../../src/lib/log.ts";
import { buildHandshake } from "../../src/protocol/toyvpn.ts";
import { startToyServer } from "../lib/server-rig.ts";

const ROOT = resolve(import.meta.dir, "../..");
const F2B = Bun.which("fail2ban-regex");
if (!F2B) console.warn("\n*** SKIPPING the fail2ban filter test: no fail2ban-regex (apt-get install fail2ban) ***\n");

const dir = mkdtempSync(join(tmpdir(), "warren-f2b-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The filter: the first ```ini block after the line naming filter.d/warren.conf. */
function shippedFilter(): string {
  const doc = readFileSync(join(ROOT, "docs/OPERATIONS.md"), "utf8");
  const m = /filter\.d\/warren\.conf[^\n]*\n+```ini\n([\s\S]*?)```/.exec(doc);
  if (!m?.[1]) throw new Error("docs/OPERATIONS.md has no ```ini block after filter.d/warren.conf");
  return m[1];
}

/** Runs fail2ban-regex; returns each matched line with the address it took from it, in order. */
async function f2b(logFile: string, filterFile: string): Promise<Array<{ ip: string; line: string }>> {
  const run = async (out: string) => {
    const p = Bun.spawn([F2B as string, "-o", out, logFile, filterFile], { stdout: "pipe", stderr: "pipe" });
    const [code, text, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    if (code !== 0) throw new Error(`fail2ban-regex exited ${code}: ${err}`);
    return text.split("\n").filter(Boolean);
  };
  const [ips, lines] = await Promise.all([run("ip"), run("msg")]);
  expect(ips.length).toBe(lines.length);
  return ips.map((ip, i) => ({ ip, line: lines[i] as string }));
}

/** Lines the filter must match: failed handshakes (not reason=busy or error) and lockouts. */
const ATTACK = /handshake rejected from \S+ reason=(?!busy|error)|handshake source \S+ locked out/;

/** Log lines of an attack, written by warren's own formatting; `journal` = the journal's line shape. */
async function attackLines(journal: boolean): Promise<string[]> {
  const lines: string[] = [];
  const log = lineLogger("warren", { shape: "text", journal }, (l) => lines.push(l));
  const r = await startToyServer({ log, config: { lockoutFailures: 10 } });
  const bad = (cred: string, address: string, port: number) => r.udp.receive(buildHandshake(cred), address, port);
  // a guesser: 12 different wrong secrets, one a second (the limiter merges the app's triple copies only)
  for (let i = 0; i < 12; i++) {
    bad(`guess${i}`, "::ffff:198.51.100.7", 40001);
    r.clock.advance(1000);
  }
  // an IPv6 guesser, 3 tries
  for (let i = 0; i < 3; i++) bad(`v6guess${i}`, "2001:db8::7", 50000 + i);
  r.clock.advance(1000);
  // a flood from one address: 40 tries within one second; 20 lines pass, the rest are summed up
  for (let i = 0; i < 40; i++) bad(`flood${i}`, "::ffff:203.0.113.9", 51000);
  r.clock.advance(1500);
  r.server.sweep(); // the door's tick writes the summary
  // a good client: not counted
  for (let i = 0; i < 3; i++) r.udp.receive(buildHandshake("s3cret:phone"), "::ffff:192.0.2.50", 40000);
  r.server.stop();
  if (!journal) return lines;
  // journald keeps MESSAGE without the <N>; `journalctl -o short` adds time, host and identifier
  const stamp = new Date().toLocaleString("en-US", { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false }).replace(",", "");
  return lines.map((l) => `${stamp} testhost warren[4242]: ${l.replace(/^<\d>/, "")}`);
}

describe.skipIf(!F2B)("fail2ban filter from docs/OPERATIONS.md", () => {
  const filterFile = join(dir, "warren.conf");

  test("the log file: every failed handshake, summary and lockout line counts against its source; good clients do not", async () => {
    writeFileSync(filterFile, shippedFilter());
    const lines = (await attackLines(false)).map((l) => l.trimEnd());
    const text = lines.join("\n");
    expect(text).toContain("handshake source 198.51.100.7 locked out for 300 s after 10 failed handshakes within 60 s");
    expect(text).toContain("session up device=phone");
    writeFileSync(join(dir, "warren.log"), `${text}\n`);
    const hits = await f2b(join(dir, "warren.log"), filterFile);
    // exactly the attack lines, each counted against the address it names
    expect(hits.map((h) => h.line)).toEqual(lines.filter((l) => ATTACK.test(l)));
    for (const h of hits) expect(h.line).toContain(h.ip.includes(":") ? `[${h.ip}]:` : ` ${h.ip}`);
    expect(new Set(hits.map((h) => h.ip))).toEqual(new Set(["198.51.100.7", "2001:db8::7", "203.0.113.9"]));
    // the summaries keep the address: the rate limit's (per source) and the logger's folding
    const ipOf = (re: RegExp) => hits.filter((h) => re.test(h.line)).map((h) => h.ip);
    expect(ipOf(/from 203\.0\.113\.9:51000 reason=bad-secret \(20 similar lines suppressed\)$/)).toEqual(["203.0.113.9"]);
    expect(ipOf(/\(repeated \d+ times\)$/).length).toBeGreaterThan(0);
    expect(ipOf(/locked out/)).toEqual(["198.51.100.7", "203.0.113.9"]);
    expect(ipOf(/2001:db8::7/)).toEqual(["2001:db8::7", "2001:db8::7", "2001:db8::7"]);
  });

  test("the journal: the same lines as journalctl shows them match the same addresses", async () => {
    writeFileSync(filterFile, shippedFilter());
    const file = await attackLines(false);
    const journal = await attackLines(true);
    expect(journal[0]).toMatch(/^\w{3} \d\d \d\d:\d\d:\d\d testhost warren\[4242\]: \[warren\] /);
    writeFileSync(join(dir, "file.log"), file.join(""));
    writeFileSync(join(dir, "journal.log"), journal.join(""));
    const a = await f2b(join(dir, "file.log"), filterFile);
    const b = await f2b(join(dir, "journal.log"), filterFile);
    expect(b.length).toBe(journal.filter((l) => ATTACK.test(l)).length);
    expect(new Set(b.map((h) => h.ip))).toEqual(new Set(a.map((h) => h.ip)));
    expect(b.filter((h) => /similar lines suppressed|locked out/.test(h.line)).map((h) => h.ip)).toEqual(["198.51.100.7", "203.0.113.9", "203.0.113.9"]);
  });
});

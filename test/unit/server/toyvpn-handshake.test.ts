/**
 * server/doors/toyvpn-handshake: the Handshaker on its own, with a small HandshakeHost
 * (a real SessionTable, sessions found by endpoint, answers recorded), a ManualClock and
 * a recording logger: answers and duplicates, continuing and replacing, rejections
 * (counted, logged without the credential), refusals, the rate limiter, slow checks.
 */

import { describe, expect, test } from "bun:test";
import { type Admission, type HandshakeLimits, HandshakeLimiter } from "../../../src/auth/ratelimit.ts";
import { type AuthResult, type Authenticator, SecretAuth } from "../../../src/auth/secret.ts";
import { formatIpv4, parseIpv4 } from "../../../src/protocol/ip.ts";
import { buildHandshake, HANDSHAKE_REPEAT } from "../../../src/protocol/toyvpn.ts";
import {
  type HandshakeHost, Handshaker, MAX_PENDING_CHECKS, REANSWER_INTERVAL_MS,
} from "../../../src/server/doors/toyvpn-handshake.ts";
import { Pool4 } from "../../../src/server/pool.ts";
import type { Session, SessionDoor } from "../../../src/server/session.ts";
import { SessionTable } from "../../../src/server/sessions.ts";
import { newServerStats } from "../../../src/server/stats.ts";
import { ManualClock } from "../../fakes/manual-clock.ts";
import { recordingLogger } from "../../lib/log.ts";

const PHONE = "::ffff:192.0.2.1";
const ip = (text: string) => parseIpv4(text) as number;

/** An authenticator whose answers the test resolves by hand. */
class SlowAuth implements Authenticator {
  readonly waiting: { credential: string; resolve(r: AuthResult): void; reject(e: Error): void }[] = [];
  check(credential: string): Promise<AuthResult> {
    return new Promise((resolve, reject) => this.waiting.push({ credential, resolve, reject }));
  }
}

/** An expensive check (like a password hash): asks the limiter before the work, then compares. */
class ExpensiveAuth implements Authenticator {
  works = 0;
  check(credential: string, _source?: string, admit?: () => Admission): AuthResult {
    const gate = admit?.() ?? "ok";
    if (gate !== "ok") return { ok: false, reason: gate };
    this.works++;
    return credential === "pw" ? { ok: true, deviceId: null, user: "alice", fixedAddr4: null } : { ok: false, reason: "bad-credentials" };
  }
}

interface RigOptions {
  auth?: Authenticator;
  limits?: Partial<HandshakeLimits>;
  poolPrefix?: number;
}

/** A Handshaker over a small host; `shake` sends one handshake datagram from PHONE:port. */
function rig(o: RigOptions = {}) {
  const clock = new ManualClock();
  const log = recordingLogger();
  const stats = newServerStats(clock.now());
  const sessions = new SessionTable(new Pool4(ip("10.8.0.0"), o.poolPrefix ?? 29));
  const byEndpoint = new Map<string, Session>();
  const answeredAt = new Map<Session, number>();
  const answers: string[] = [];
  const refusal: { next: "params" | null } = { next: null };
  const door: SessionDoor = {
    protocol: "toyvpn",
    queue: () => true,
    sendNow: () => true,
    closed: (s) => {
      if (byEndpoint.get(`${s.address}|${s.port}`) === s) byEndpoint.delete(`${s.address}|${s.port}`);
    },
  };
  const host: HandshakeHost = {
    sessions, clock, stats, log,
    atEndpoint: (a, p) => byEndpoint.get(`${a}|${p}`),
    open: (spec, now) => {
      if (refusal.next !== null) return { ok: false, reason: refusal.next };
      const r = sessions.open({ ...spec, door }, now);
      if (r.ok) byEndpoint.set(`${spec.address}|${spec.port}`, r.session);
      return r;
    },
    lastAnswer: (s) => answeredAt.get(s) ?? -Infinity,
    markAnswered: (s, now) => void answeredAt.set(s, now),
    sendParams: (s) => void answers.push(`${s.label} ${formatIpv4(s.addr4)} :${s.port}`),
  };
  const limiter = o.limits === undefined ? null : new HandshakeLimiter(o.limits, clock.now());
  const hs = new Handshaker(host, o.auth ?? new SecretAuth("s3cret"), limiter);
  const shake = (credential: string, port = 40000, address = PHONE) => hs.handshake(buildHandshake(credential), address, port);
  return { hs, clock, log, stats, sessions, answers, refusal, shake };
}

/** Lets promise callbacks run. */
const turn = () => new Promise((r) => setImmediate(r));

describe("answering", () => {
  test("a good handshake opens a session and answers HANDSHAKE_REPEAT times", () => {
    const r = rig();
    r.shake("s3cret");
    expect(r.sessions.size).toBe(1);
    expect(r.answers).toEqual(Array(HANDSHAKE_REPEAT).fill("#1 10.8.0.2 :40000"));
    expect(r.stats.handshakes).toMatchObject({ ok: 1, duplicate: 0, rejected: 0, refused: 0, limited: 0 });
  });

  test("copies within REANSWER_INTERVAL_MS are absorbed; one after it renews the same session and answers again", () => {
    const r = rig();
    r.shake("s3cret:phone");
    r.shake("s3cret:phone");
    r.clock.advance(REANSWER_INTERVAL_MS - 1);
    r.shake("s3cret:phone");
    expect(r.answers).toHaveLength(HANDSHAKE_REPEAT);
    expect(r.stats.handshakes).toMatchObject({ ok: 1, duplicate: 2 });
    r.clock.advance(1);
    r.shake("s3cret:phone");
    expect(r.answers).toHaveLength(2 * HANDSHAKE_REPEAT);
    expect(r.stats.handshakes).toMatchObject({ ok: 1, renewed: 1, duplicate: 2 });
    const [s] = r.sessions.all();
    expect(r.sessions.size).toBe(1);
    expect(s?.lastSeen).toBe(r.clock.now());
  });

  test("the same device from a new endpoint continues its session with the same address", () => {
    const r = rig();
    r.shake("s3cret:phone", 40000);
    const first = r.sessions.all()[0];
    r.shake("s3cret:phone", 40001);
    expect(first?.open).toBe(false);
    expect(r.sessions.size).toBe(1);
    expect(r.answers.at(-1)).toBe("phone 10.8.0.2 :40001");
  });

  test("another device at an endpoint replaces the session there", () => {
    const r = rig();
    r.shake("s3cret:a", 40000);
    r.shake("s3cret:b", 40000);
    expect(r.sessions.all().map((s) => `${s.label} ${formatIpv4(s.addr4)}`)).toEqual(["b 10.8.0.3"]);
  });
});

describe("rejections: counted, logged with the reason and the endpoint, never the credential, no answer", () => {
  test.each([
    ["a wrong secret", buildHandshake("hunter2-wrong"), "reason=bad-secret"],
    ["a bad device id", buildHandshake("s3cret:has space"), "reason=bad-device-id"],
    ["an empty credential", new Uint8Array([0, 0, 0x41]), "reason=malformed-empty"],
    ["bytes that are not UTF-8", new Uint8Array([0, 0xff, 0xfe]), "reason=malformed-not-text"],
  ])("%s", (_what, datagram, reason) => {
    const r = rig();
    r.hs.handshake(datagram, PHONE, 40000);
    expect(r.sessions.size).toBe(0);
    expect(r.answers).toEqual([]);
    expect(r.stats.handshakes).toMatchObject({ ok: 0, rejected: 1, limited: 0 });
    expect(r.log.at("warn")).toEqual([`handshake rejected from 192.0.2.1:40000 ${reason}`]);
    expect(r.log.lines.join("\n")).not.toContain("hunter2");
  });
});

describe("refusals: counted, logged with the reason, no answer", () => {
  test("the pool is full", () => {
    const r = rig({ poolPrefix: 30 });
    r.shake("s3cret:a", 40000);
    r.shake("s3cret:b", 40001);
    expect(r.stats.handshakes).toMatchObject({ ok: 1, refused: 1 });
    expect(r.log.at("warn")).toEqual(["handshake refused from 192.0.2.1:40001 reason=pool-full (address pool exhausted)"]);
    expect(r.answers).toHaveLength(HANDSHAKE_REPEAT);
  });

  test("max clients is reached, but the same device still gets back in", () => {
    const r = rig();
    r.sessions.maxClients = 1;
    r.shake("s3cret:a", 40000);
    r.shake("s3cret:b", 40001);
    expect(r.log.at("warn")).toEqual(["handshake refused from 192.0.2.1:40001 reason=max-clients (max clients reached)"]);
    r.shake("s3cret:a", 40002);
    expect(r.stats.handshakes).toMatchObject({ ok: 2, refused: 1 });
    expect(r.answers.at(-1)).toBe("a 10.8.0.2 :40002");
  });

  test("the parameters do not fit one datagram", () => {
    const r = rig();
    r.refusal.next = "params";
    r.shake("s3cret");
    expect(r.log.at("warn")).toEqual(["handshake refused from 192.0.2.1:40000 reason=params (its parameters do not fit in one datagram)"]);
    expect(r.stats.handshakes.refused).toBe(1);
  });
});

describe("the limiter", () => {
  const LOCKOUT: Partial<HandshakeLimits> = { perSourceRate: 0, globalRate: 0, lockoutFailures: 3, lockoutWindowMs: 60_000, lockoutMs: 300_000 };

  test("failures throttle a source to one expensive check a second (logged once); the right password and shared secret still get in", () => {
    const auth = new ExpensiveAuth();
    const r = rig({ auth, limits: LOCKOUT });
    for (let i = 0; i < 3; i++) r.shake(`wrong-${i}`);
    expect(r.log.at("warn").filter((l) => l.includes("locked out"))).toEqual([
      "handshake source 192.0.2.1 locked out for 300 s after 3 failed handshakes within 60 s",
    ]);
    const works = auth.works;
    r.shake("wrong-3", 40001); // the one check of this second, a failure
    r.shake("pw"); // the same second: no expensive work for a locked-out source
    expect(auth.works).toBe(works + 1);
    expect(r.sessions.size).toBe(0);
    expect(r.stats.handshakes).toMatchObject({ rejected: 4, limited: 1 });
    expect(r.log.at("warn").at(-1)).toBe("handshake rejected from 192.0.2.1:40000 reason=locked-out");
    r.clock.advance(1000);
    r.shake("pw"); // a second later: checked, and in (the failures may have been forged with this address)
    expect(auth.works).toBe(works + 2);
    expect(r.sessions.size).toBe(1);
    r.shake("pw", 40000, "::ffff:192.0.2.2"); // another source is not throttled
    expect(auth.works).toBe(works + 3);
    // a cheap credential is checked whatever the source's history (a source can be forged)
    const cheap = rig({ limits: LOCKOUT });
    for (let i = 0; i < 3; i++) cheap.shake(`wrong-${i}`);
    cheap.shake("s3cret");
    expect(cheap.sessions.size).toBe(1);
  });

  test("'not now' reasons do not count towards a lockout; a success clears the failures", () => {
    const r = rig({ auth: new ExpensiveAuth(), limits: { ...LOCKOUT, perSourceRate: 1, perSourceBurst: 1 } });
    r.shake("wrong-1");
    r.shake("wrong-2"); // over the rate: rate-limited, not a failure
    expect(r.stats.handshakes).toMatchObject({ rejected: 1, limited: 1 });
    r.clock.advance(1000);
    r.shake("wrong-3");
    r.clock.advance(1000);
    r.shake("pw");
    expect(r.sessions.size).toBe(1);
    r.clock.advance(1000);
    r.shake("wrong-4");
    r.clock.advance(1000);
    r.shake("wrong-5");
    expect(r.log.lines.some((l) => l.includes("locked out"))).toBe(false);
  });
});

describe("slow checks", () => {
  test("the answer comes when the check resolves, against the table as it is then", async () => {
    const auth = new SlowAuth();
    const r = rig({ auth });
    r.shake("alice:pw:phone");
    expect(r.hs.pendingChecks).toBe(1);
    expect(r.answers).toEqual([]);
    r.clock.advance(250);
    auth.waiting[0]?.resolve({ ok: true, deviceId: "phone", user: "alice", fixedAddr4: ip("10.8.0.5"), grant: { kind: "user", id: "alice", hash: "h" } });
    await turn();
    expect(r.hs.pendingChecks).toBe(0);
    const [s] = r.sessions.all();
    expect(s).toMatchObject({ identity: "user:alice", user: "alice", deviceId: "phone", createdAt: r.clock.now() });
    expect(r.answers[0]).toBe("phone 10.8.0.5 :40000");
  });

  test("a failed check is a rejection with the user named; a check that rejects is an error, logged", async () => {
    const auth = new SlowAuth();
    const r = rig({ auth });
    r.shake("alice:wrong");
    r.shake("bob:pw", 40001);
    auth.waiting[0]?.resolve({ ok: false, reason: "bad-credentials", user: "alice" });
    auth.waiting[1]?.reject(new Error("worker died"));
    await turn();
    expect(r.log.at("warn")).toEqual([
      "handshake rejected from 192.0.2.1:40000 reason=bad-credentials user=alice",
      "handshake rejected from 192.0.2.1:40001 reason=error",
    ]);
    expect(r.log.at("error").some((l) => l.startsWith("credential check failed: Error: worker died"))).toBe(true);
    expect(r.stats.handshakes).toMatchObject({ rejected: 1, limited: 1 });
  });

  test(`at most MAX_PENDING_CHECKS (${MAX_PENDING_CHECKS}) wait at once; more are rejected as busy without a check`, () => {
    const auth = new SlowAuth();
    const r = rig({ auth });
    for (let i = 0; i < MAX_PENDING_CHECKS; i++) r.shake(`u${i}:pw`, 1000 + (i % 60000));
    r.shake("late:pw", 65000);
    expect(auth.waiting).toHaveLength(MAX_PENDING_CHECKS);
    expect(r.hs.pendingChecks).toBe(MAX_PENDING_CHECKS);
    expect(r.stats.handshakes.limited).toBe(1);
  });

  test("after close() a check that resolves changes nothing", async () => {
    const auth = new SlowAuth();
    const r = rig({ auth });
    r.shake("alice:pw");
    r.hs.close();
    auth.waiting[0]?.resolve({ ok: true, deviceId: null, user: "alice", fixedAddr4: null });
    await turn();
    expect(r.sessions.size).toBe(0);
    expect(r.answers).toEqual([]);
    expect(r.hs.pendingChecks).toBe(0);
  });
});

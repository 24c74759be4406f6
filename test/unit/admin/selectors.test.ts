/** admin/selectors: explicit forms, bare targets accepted only when unambiguous, --all. */
import { describe, expect, test } from "bun:test";
import { selectSessions } from "../../../src/admin/selectors.ts";
import { parseIpv6 } from "../../../src/protocol/ip.ts";
import type { Session } from "../../../src/server/session.ts";

const ip4 = (t: string) => t.split(".").reduce((n, o) => n * 256 + Number(o), 0);
function session(serial: number, deviceId: string | null, addr: string, address: string, port: number, label = deviceId ?? `#${serial}`, addr6: string | null = null): Session {
  return { serial, deviceId, label, addr4: ip4(addr), addr6: addr6 === null ? null : parseIpv6(addr6), address, port } as unknown as Session;
}

// phone1 and a device whose id looks like another client's tunnel address; two sessions from one IP
const A = session(1, "phone1", "10.8.0.2", "::ffff:192.0.2.10", 40001, "phone1", "fd00:8::2");
const TRICK = session(2, "10.8.0.4", "10.8.0.3", "::ffff:192.0.2.20", 40002);
const B = session(3, null, "10.8.0.4", "::ffff:192.0.2.20", 40003);
const V6 = session(4, "#1", "10.8.0.5", "2001:db8::7", 50000);
const ALL = [A, TRICK, B, V6];
const pick = (t: string, all = false) => {
  const r = selectSessions(ALL, t, all);
  return r.ok ? r.sessions.map((s) => s.serial) : r.code;
};

describe("selectors", () => {
  test("explicit forms name one rule each", () => {
    expect(pick("id:phone1")).toEqual([1]);
    expect(pick("id:10.8.0.4")).toEqual([2]);
    expect(pick("addr:10.8.0.4")).toEqual([3]);
    expect(pick("addr:fd00:8:0::2")).toEqual([1]);
    expect(pick("#3")).toEqual([3]);
    expect(pick("endpoint:192.0.2.20:40002")).toEqual([2]);
    expect(pick("endpoint:[2001:db8:0::7]:50000")).toEqual([4]);
    expect(pick("endpoint:2001:db8::7")).toEqual([4]);
    expect(pick("id:#1")).toEqual([4]);
  });

  test("a bare target is taken only when every rule it matches names the same one session", () => {
    expect(pick("phone1")).toEqual([1]);
    expect(pick("10.8.0.2")).toEqual([1]);
    expect(pick("192.0.2.10:40001")).toEqual([1]);
    expect(pick("#2")).toEqual([2]);
    expect(pick("10.8.0.4")).toBe("ERR_AMBIGUOUS"); // device id of #2, tunnel address of #3
    expect(pick("#1")).toBe("ERR_AMBIGUOUS"); // serial of phone1, device id of #4
    expect(pick("nobody")).toBe("ERR_NOT_FOUND");
    const r = selectSessions(ALL, "10.8.0.4");
    expect(!r.ok && r.error).toBe('"10.8.0.4" is ambiguous: #2 10.8.0.4 10.8.0.3 from 192.0.2.20:40002 (by id); #3 10.8.0.4 from 192.0.2.20:40003 (by addr); name one as #N, id:NAME, addr:ADDRESS or endpoint:HOST[:PORT]');
    expect(!r.ok && r.multi).toBe(false);
  });

  test("several sessions only with all, and only when one rule names them all", () => {
    expect(pick("192.0.2.20")).toBe("ERR_AMBIGUOUS");
    const r = selectSessions(ALL, "endpoint:192.0.2.20");
    expect(!r.ok && r.multi).toBe(true);
    expect(pick("endpoint:192.0.2.20", true)).toEqual([2, 3]);
    expect(pick("192.0.2.20", true)).toEqual([2, 3]);
    expect(pick("10.8.0.4", true)).toBe("ERR_AMBIGUOUS"); // two rules: --all does not choose between meanings
  });

  test("malformed explicit forms are refused", () => {
    expect(pick("addr:phone1")).toBe("ERR_BAD_SELECTOR");
    expect(pick("endpoint:192.0.2.20:99999")).toBe("ERR_BAD_SELECTOR");
    expect(pick("endpoint:nowhere")).toBe("ERR_BAD_SELECTOR");
  });
});

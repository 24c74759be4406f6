/** admin/control-protocol: what a request line may be, and result schemas. */
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { encodeLine, parseRequestLine, RESULT_SCHEMAS, ResponseSchema } from "../../../src/admin/control-protocol.ts";
import { snapshot } from "../../lib/snapshot-fixture.ts";

describe("control protocol", () => {
  test("valid requests parse to typed values", () => {
    expect(parseRequestLine('{"cmd":"snapshot"}')).toEqual({ ok: true, request: { cmd: "snapshot" } });
    expect(parseRequestLine('{"cmd":"set","key":"idle-timeout","value":"60"}')).toEqual({ ok: true, request: { cmd: "set", key: "idle-timeout", value: "60" } });
    expect(parseRequestLine('{"cmd":"capture-start","target":"p1","file":"/tmp/x.pcap","maxBytes":4096}').ok).toBe(true);
    expect(parseRequestLine(encodeLine({ cmd: "kick", target: "10.8.0.2" }).trim())).toEqual({ ok: true, request: { cmd: "kick", target: "10.8.0.2" } });
  });

  test("invalid requests: one line saying what is wrong", () => {
    expect(parseRequestLine("nope")).toEqual({ ok: false, error: "request is not JSON" });
    const cases: Array<[string, RegExp]> = [
      ['{"cmd":"explode"}', /bad request: cmd/],
      ['{"cmd":"set","key":"mtu","value":"1"}', /bad request: key: expected one of log-level/],
      ['{"cmd":"set","key":"isolate"}', /bad request: value/],
      ['{"cmd":"kick","target":""}', /bad request: target/],
      ['{"cmd":"capture-start","target":"a","maxBytes":10}', /bad request: maxBytes/],
      ["[1,2]", /bad request/],
    ];
    for (const [line, re] of cases) {
      const r = parseRequestLine(line);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(re);
    }
  });

  test("responses: envelope and result schemas accept what the server sends", () => {
    expect(v.is(ResponseSchema, { ok: true, result: 1 })).toBe(true);
    expect(v.is(ResponseSchema, { ok: false, code: "ERR_X", error: "x" })).toBe(true);
    expect(v.is(ResponseSchema, { ok: false, error: "x" })).toBe(false);
    expect(v.is(RESULT_SCHEMAS.snapshot, snapshot())).toBe(true);
    expect(v.is(RESULT_SCHEMAS.snapshot, { ...snapshot(), clients: [{ id: 1 }] })).toBe(false);
    expect(v.is(RESULT_SCHEMAS.reload, { file: null, changed: [{ key: "idleTimeout", from: "180", to: "90" }], restart: ["mtu"] })).toBe(true);
  });
});

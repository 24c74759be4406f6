/** client/changes: what changed between two parameter sets, in words. */
import { describe, expect, test } from "bun:test";
import { describeChanges } from "../../../src/client/changes.ts";
import { parseParams, type Params } from "../../../src/protocol/toyvpn.ts";

function p(text: string): Params {
  const r = parseParams(text);
  if (!r.ok) throw new Error(r.error);
  return r.params;
}

describe("describeChanges", () => {
  test("a new IPv4 address, without its unchanged prefix length", () => {
    expect(describeChanges(p("m,1400 a,10.8.0.5,32"), p("m,1400 a,10.8.0.2,32"))).toEqual(["address changed: 10.8.0.5 -> 10.8.0.2"]);
    expect(describeChanges(p("m,1400 a,10.8.0.5,32"), p("m,1400 a,10.8.0.5,24"))).toEqual(["address changed: 10.8.0.5/32 -> 10.8.0.5/24"]);
  });

  test("IPv6 added, changed and removed", () => {
    expect(describeChanges(p("a,10.8.0.5,32"), p("a,10.8.0.5,32 a,fd00:8::5,128"))).toEqual(["IPv6 address added: fd00:8::5/128"]);
    expect(describeChanges(p("a,10.8.0.5,32 a,fd00:8::5,128"), p("a,10.8.0.5,32 a,fd00:8::9,128"))).toEqual(["IPv6 address changed: fd00:8::5 -> fd00:8::9"]);
    expect(describeChanges(p("a,10.8.0.5,32 a,fd00:8::5,128"), p("a,10.8.0.5,32"))).toEqual(["IPv6 address removed: fd00:8::5/128"]);
  });

  test("mtu (the default 1500 when none is pushed), routes, DNS and search domains", () => {
    expect(describeChanges(p("m,1400 a,10.8.0.5,32 r,10.7.0.0,24 r,10.8.0.0,24 d,1.1.1.1 s,a.example"), p("a,10.8.0.5,32 r,10.8.0.0,24 r,10.9.0.0,16 d,9.9.9.9"))).toEqual([
      "mtu changed: 1400 -> 1500",
      "routes changed: added 10.9.0.0/16; removed 10.7.0.0/24",
      "DNS servers changed: 1.1.1.1 -> 9.9.9.9",
      "search domains changed: a.example -> none",
    ]);
  });

  test("the same settings in another order: nothing to say", () => {
    expect(describeChanges(p("m,1400 a,10.8.0.5,32 r,10.8.0.0,24 r,10.9.0.0,16"), p("r,10.9.0.0,16 a,10.8.0.5,32 r,10.8.0.0,24 m,1400"))).toEqual([]);
  });
});

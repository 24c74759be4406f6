/** config/ops: the operations settings as the schema sees them. */
import { describe, expect, test } from "bun:test";
import { parseSize } from "../../../src/config/fields.ts";
import { validate } from "../../../src/config/load.ts";
import { ServerConfigSchema } from "../../../src/config/server-schema.ts";

describe("ops settings", () => {
  test("sizes", () => {
    expect([parseSize("4096"), parseSize("512K"), parseSize("10M"), parseSize("1g"), parseSize("2MiB"), parseSize("10 MB")]).toEqual([4096, 524288, 10485760, 1073741824, 2097152, 10485760]);
    expect([parseSize("x"), parseSize("-1"), parseSize("1.5M")]).toEqual([null, null, null]);
  });

  test("defaults and flag strings", () => {
    const c = validate(ServerConfigSchema, {});
    expect(c).toMatchObject({ controlSocket: "/run/warren/warren.sock", logMaxSize: 10485760, logKeep: 5, captureMaxBytes: 104857600 });
    expect(c.metrics).toBeUndefined();
    const d = validate(ServerConfigSchema, { metrics: "127.0.0.1:9810", logMaxSize: "64K", logKeep: "2", onConnect: "logger up" });
    expect(d.metrics).toEqual({ host: "127.0.0.1", port: 9810 });
    expect([d.logMaxSize, d.logKeep, d.onConnect]).toEqual([65536, 2, "logger up"]);
  });

  test("bad values name the field", () => {
    expect(() => validate(ServerConfigSchema, { logMaxSize: "12" })).toThrow(/logMaxSize: expected a size from 1024/);
    expect(() => validate(ServerConfigSchema, { logKeep: 101 })).toThrow(/logKeep/);
    expect(() => validate(ServerConfigSchema, { metrics: "localhost:80" })).toThrow(/metrics/);
    expect(() => validate(ServerConfigSchema, { controlSocket: `/tmp/${"x".repeat(120)}` })).toThrow(/controlSocket: expected a socket path of at most 107 bytes/);
    expect(() => validate(ServerConfigSchema, { onConnect: "  " })).toThrow(/onConnect/);
  });
});

import { describe, expect, test } from "bun:test";
import { SecretAuth } from "../../../src/auth/secret.ts";

describe("SecretAuth", () => {
  const auth = new SecretAuth("s3cret");

  test("secret alone: no device id", () => {
    expect(auth.check("s3cret")).toEqual({ ok: true, deviceId: null, user: null, fixedAddr4: null });
  });

  test("secret:id carries the device id", () => {
    expect(auth.check("s3cret:phone-7")).toEqual({ ok: true, deviceId: "phone-7", user: null, fixedAddr4: null });
  });

  test("wrong secrets are rejected, including prefixes and extensions", () => {
    for (const c of ["s3cre", "s3cretX", "S3cret", "", "x:s3cret", "s3cre:t", "s3cret "]) {
      expect(auth.check(c)).toEqual({ ok: false, reason: "bad-secret" });
    }
  });

  test("a bad device id is its own reason", () => {
    expect(auth.check("s3cret:")).toEqual({ ok: false, reason: "bad-device-id" });
    expect(auth.check("s3cret:has space")).toEqual({ ok: false, reason: "bad-device-id" });
    expect(auth.check(`s3cret:${"x".repeat(65)}`)).toEqual({ ok: false, reason: "bad-device-id" });
  });

  test("secrets that contain colons still work", () => {
    const a = new SecretAuth("a:b");
    expect(a.check("a:b")).toMatchObject({ ok: true, deviceId: null });
    expect(a.check("a:b:dev")).toMatchObject({ ok: true, deviceId: "dev" });
    expect(a.check("a").ok).toBe(false);
  });

  test("setSecret affects new checks", () => {
    const a = new SecretAuth("old");
    a.setSecret("new");
    expect(a.check("old").ok).toBe(false);
    expect(a.check("new").ok).toBe(true);
  });
});

/**
 * lib/errors and lib/errno: the code of a system error, what a message shows of it, errno names.
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ERRNO, errnoName } from "../../../src/lib/errno.ts";
import { codeOrMessage, errorCode, SysError, WarrenError } from "../../../src/lib/errors.ts";

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

describe("errorCode", () => {
  test("a real fs error gives its code", () => {
    expect(errorCode(thrown(() => readFileSync("/nonexistent/warren-test")))).toBe("ENOENT");
  });

  test("a WarrenError gives its stable code", () => {
    expect(errorCode(new WarrenError("ERR_X", "x"))).toBe("ERR_X");
  });

  test.each([[null], [undefined], ["ENOENT"], [42], [new Error("plain")], [{ code: 13 }]])("%p has none", (e) => {
    expect(errorCode(e)).toBeUndefined();
  });
});

describe("codeOrMessage", () => {
  test("prefers the code, else the message, else the value as text", () => {
    expect(codeOrMessage(Object.assign(new Error("long text"), { code: "EACCES" }))).toBe("EACCES");
    expect(codeOrMessage(new Error("long text"))).toBe("long text");
    expect(codeOrMessage("just a string")).toBe("just a string");
  });
});

describe("SysError and the errno table", () => {
  test("names the errno and adds the hint", () => {
    const e = new SysError("ioctl TUNSETIFF", ERRNO.EBUSY, "create TUN interface wt0", "interface wt0 is in use");
    expect(e.message).toBe("cannot create TUN interface wt0: EBUSY — interface wt0 is in use");
    expect(e.errno).toBe(16);
    expect(e.code).toBe("ERR_SYSCALL");
  });

  test("every number in the table has one name, and names read back to it", () => {
    const numbers = Object.values(ERRNO);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [name, n] of Object.entries(ERRNO)) expect(errnoName(n)).toBe(name);
  });

  test("an unknown errno is shown as a number", () => {
    expect(errnoName(4095)).toBe("errno 4095");
  });
});

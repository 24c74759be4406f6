/**
 * lib/errors: the code of a system error, and what a message shows of it.
 */

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { codeOrMessage, errorCode, WarrenError } from "../../../src/lib/errors.ts";

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

/**
 * @module json-error.test
 * jsonSyntaxError (src/lib/json-error.ts): line, column and reason of the first
 * syntax error, and agreement with JSON.parse on what is JSON at all.
 */
import { describe, expect, test } from "bun:test";
import { jsonSyntaxError } from "../../../src/lib/json-error.ts";

describe("jsonSyntaxError", () => {
  test("points at the first error, 1-based, with what was expected and found", () => {
    expect(jsonSyntaxError('{\n  "a": 1\n  "b": 2\n}')).toEqual({ line: 3, column: 3, reason: 'expected "," or "}" (got "\\"")' });
    expect(jsonSyntaxError('{"a": 1,}')).toEqual({ line: 1, column: 9, reason: 'expected another key after "," (JSON allows no trailing comma) (got "}")' });
    expect(jsonSyntaxError("{ nope")).toEqual({ line: 1, column: 3, reason: 'expected a key in double quotes (got "n")' });
    expect(jsonSyntaxError('{"a" 1}')).toEqual({ line: 1, column: 6, reason: 'expected ":" after the key (got "1")' });
    expect(jsonSyntaxError('{"a": tru}')).toMatchObject({ line: 1, column: 7 });
    expect(jsonSyntaxError('{"a": [1, 2')).toEqual({ line: 1, column: 12, reason: 'expected "," or "]" (got the end of the file)' });
    expect(jsonSyntaxError('{"a": "x\ny"}')).toMatchObject({ line: 1, column: 9 });
    expect(jsonSyntaxError('{"a": "\\q"}')).toMatchObject({ line: 1, column: 9 });
    expect(jsonSyntaxError('{"a": 01}')).toEqual({ line: 1, column: 8, reason: 'expected "," or "}" (got "1")' });
    expect(jsonSyntaxError("{}\n\n  x")).toEqual({ line: 3, column: 3, reason: 'expected the end of the file after the JSON value (got "x")' });
    expect(jsonSyntaxError("")).toEqual({ line: 1, column: 1, reason: expect.stringContaining("the end of the file") });
  });

  test("null exactly for the texts JSON.parse accepts", () => {
    const texts = [
      "{}", "[]", '{"a":[1,-2.5e+3,true,false,null,"\\u00e9\\n"]}', " \n\t{ } ", '"s"', "0", "-0.1",
      "{", "[1,]", "{'a':1}", "01", "1.", ".5", "+1", '"\\x"', "nul", "[1 2]", '{"a":1}}', "\u00a0{}", '"\t"',
    ];
    for (const t of texts) {
      let ok = true;
      try {
        JSON.parse(t);
      } catch {
        ok = false;
      }
      expect([t, jsonSyntaxError(t) === null]).toEqual([t, ok]);
    }
  });

  test("deep nesting is reported, not a stack overflow", () => {
    expect(jsonSyntaxError("[".repeat(100_000))?.reason).toMatch(/^nesting deeper than 512 levels/);
  });
});

/** cli/server: a stray rejection or exception in a handler is logged and the server keeps running. */
import { expect, test } from "bun:test";

test("an unhandled rejection and an exception thrown from a callback are logged, and the process lives on", async () => {
  const p = Bun.spawn([process.execPath, `${import.meta.dir}/stray-errors-child.ts`], { stdout: "pipe", stderr: "pipe" });
  const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
  expect(out.split("\n").filter(Boolean)).toEqual([
    "LOG unhandled rejection (still serving): Error: stray rejection",
    "LOG uncaught exception (still serving): Error: stray throw",
    "still serving",
  ]);
  expect(code).toBe(0);
});

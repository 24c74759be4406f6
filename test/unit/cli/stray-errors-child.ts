/**
 * Child process for stray-errors.test.ts: installs the server's handler for
 * stray errors, then makes one unhandled rejection and one exception thrown out of a
 * timer callback, and proves it is still running afterwards.
 */
import { keepServingOnStrayErrors } from "../../../src/cli/server.ts";

keepServingOnStrayErrors({ error: (line: string) => console.log(`LOG ${line.split("\n")[0]}`) });
void Promise.reject(new Error("stray rejection"));
setTimeout(() => {
  throw new Error("stray throw");
}, 10);
setTimeout(() => console.log("still serving"), 100);

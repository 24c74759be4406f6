/**
 * @module daemon-child
 * A stand-in for `warren server` under spawnDaemon (test/unit/cli/daemon.test.ts): acts
 * out one startup outcome given as argv[2], through the real child side of daemon.ts.
 *   ready   print a summary, report ready, then live 3 s (the parent must not wait)
 *   fail    report "warren: config: listen: bad" like main.ts does, exit 2
 *   crash   exit 3 without reporting
 *   silent  report nothing and live 20 s (the parent's timeout kills it)
 */
import { emitSummary, reportFailure, reportReady } from "../../src/cli/daemon.ts";

const mode = process.argv[2];
if (mode === "ready") {
  emitSummary(`summary of pid ${process.pid}\n`);
  reportReady();
  console.log("child stdout goes to the log file");
  setTimeout(() => process.exit(0), 3000);
} else if (mode === "fail") {
  const line = "warren: config: listen: bad";
  process.stderr.write(`${line}\n`);
  reportFailure(line);
  process.exitCode = 2;
} else if (mode === "crash") {
  process.exit(3);
} else {
  setTimeout(() => process.exit(0), 20_000);
}

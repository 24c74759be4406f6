/**
 * @module claim-race
 * One contender in test/unit/lib/pidfile.test.ts's race: waits until the wall clock
 * reaches argv[3] (ms), calls claimFile(argv[2]) with the real liveness check, prints
 * `ok` or `busy <holder>`, and, when it won, holds the file for 1 s before exiting.
 */
import { claimFile, pidAlive } from "../../src/lib/pidfile.ts";

const [path, startAt] = [process.argv[2] ?? "", Number(process.argv[3] ?? 0)];
while (Date.now() < startAt) Bun.sleepSync(1);
const r = claimFile(path, pidAlive);
console.log(r.ok ? "ok" : `busy ${r.holder}`);
if (r.ok) await Bun.sleep(1000);

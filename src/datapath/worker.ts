/**
 * @module datapath/worker
 * Worker entry point of the fast data path: one start message (`WorkerStart`), a JIT
 * warm-up (warmup.ts), then the loop (loop.ts) on this thread until STOP. Sets CTL_DONE
 * (and notifies) once it has left its loop for good, so the main thread knows no fd is
 * touched any more before it closes them.
 *
 * Must be an extra entry point of compiled builds (see build.ts).
 */

import { MsgVec } from "../platform/linux/mmsg.ts";
import { CTL_DONE, CTL_ERRNO, CTL_STARTED, CTL_STATE, CTL_STOP, type WorkerStart } from "./layout.ts";
import { engines, runLoop } from "./loop.ts";
import { COALESCE_ROOM } from "./rx-engine.ts";
import { warmUp } from "./warmup.ts";

addEventListener("message", (event: MessageEvent<WorkerStart>) => {
  const start = event.data;
  const ctl = new Int32Array(start.control);
  Atomics.store(ctl, CTL_STARTED, 1);
  try {
    const rxVec = new MsgVec(start.batch, start.packetRoom + start.vnet, start.vnet, start.vnet > 0 ? COALESCE_ROOM : 0);
    // With offloads the tx engine brings its own 64 KiB read slots; its vector only holds messages.
    const txVec = start.tso ? new MsgVec(start.udpGso ? start.batch : 128, 0) : new MsgVec(start.batch, start.packetRoom + start.vnet, start.vnet);
    warmUp(start, rxVec, txVec);
    const { rx, tx } = engines(start, rxVec, txVec);
    if (Atomics.load(ctl, CTL_STATE) !== CTL_STOP) runLoop(start, ctl, rx, tx, rxVec.count);
  } catch {
    if (Atomics.load(ctl, CTL_ERRNO) === 0) Atomics.store(ctl, CTL_ERRNO, -1);
  } finally {
    Atomics.store(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
  process.exit(0); // ends this worker only
});

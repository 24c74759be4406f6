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
import { WG_TAIL } from "./tx-engine.ts";
import { warmUp } from "./warmup.ts";
import { WG_HEAD } from "./wg-keys.ts";

addEventListener("message", (event: MessageEvent<WorkerStart>) => {
  const start = event.data;
  const ctl = new Int32Array(start.control);
  Atomics.store(ctl, CTL_STARTED, 1);
  try {
    // A receive vector (the data socket's, and WireGuard's own socket's when it has one): the coalescer builds in its spare tail.
    const rxVector = (): MsgVec => new MsgVec(start.batch, start.packetRoom + start.vnet, start.vnet, start.vnet > 0 ? COALESCE_ROOM : 0);
    const rxVec = rxVector();
    // With offloads the tx engine brings its own 64 KiB read slots; its vector only holds messages.
    // With WireGuard a tx buffer keeps room for a message header before the packet and for padding and tag after it.
    const lead = start.wgTable === null ? 0 : WG_HEAD;
    const tail = start.wgTable === null ? 0 : WG_TAIL;
    const txVec = start.tso ? new MsgVec(start.udpGso ? start.batch : 128, 0) : new MsgVec(start.batch, lead + start.packetRoom + start.vnet + tail, lead + start.vnet);
    const wgRxVec = start.wgUdpFd < 0 ? null : rxVector();
    warmUp(start, rxVec, txVec);
    const e = engines(start, rxVec, txVec, wgRxVec);
    if (Atomics.load(ctl, CTL_STATE) !== CTL_STOP) runLoop(start, ctl, e, rxVec.count);
  } catch {
    if (Atomics.load(ctl, CTL_ERRNO) === 0) Atomics.store(ctl, CTL_ERRNO, -1);
  } finally {
    Atomics.store(ctl, CTL_DONE, 1);
    Atomics.notify(ctl, CTL_DONE);
  }
  process.exit(0); // ends this worker only
});

/**
 * @module tun/poll-worker
 * Worker entry point: waits, outside the main event loop, until the TUN fd is readable
 * and tells the main thread through the shared control word (see `poll-shared.ts`).
 * It never reads packets; the main thread does, with non-blocking FFI reads.
 *
 * Loop: ARMED -> block in poll({tun, wake}, POLLIN, timeoutMs) -> tun readable? ARMED ->
 * READY and notify -> Atomics.wait until the state leaves READY -> repeat. STOP arrives
 * with a write to the wake eventfd, so the worker leaves poll() at once; then it sets
 * CTL_DONE. When idle the thread wakes once per timeout.
 *
 * Must be an extra entry point of compiled builds:
 * `bun build --compile src/main.ts src/tun/poll-worker.ts --outfile dist/warren`.
 */

import { ERRNO } from "../lib/errno.ts";
import {
  errno, HOST_LE, libc, nativeBuffer, POLLFD_EVENTS, POLLFD_FD, POLLFD_REVENTS, POLLFD_SIZE, POLLIN,
} from "../platform/linux/libc.ts";
import {
  CTL_DONE, CTL_ERRNO, CTL_STATE, type PollStart, STATE_ARMED, STATE_FAILED, STATE_READY, STATE_STOP,
} from "./poll-shared.ts";

/** pollfd slots: the TUN first, the wake eventfd second. */
const TUN_SLOT = 0;
const WAKE_SLOT = 1;
const SLOTS = 2;

/** Runs until STOP (or a poll failure); blocks this worker's thread throughout. */
function pollLoop(start: PollStart, control: Int32Array): void {
  // struct pollfd[2], pinned for the life of the loop (its pointer is cached).
  const fds = nativeBuffer(POLLFD_SIZE * SLOTS);
  const view = new DataView(fds.buf.buffer);
  const tunRevents = TUN_SLOT * POLLFD_SIZE + POLLFD_REVENTS;
  view.setInt32(TUN_SLOT * POLLFD_SIZE + POLLFD_FD, start.fd, HOST_LE);
  view.setInt16(TUN_SLOT * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, HOST_LE);
  view.setInt32(WAKE_SLOT * POLLFD_SIZE + POLLFD_FD, start.wakeFd, HOST_LE);
  view.setInt16(WAKE_SLOT * POLLFD_SIZE + POLLFD_EVENTS, POLLIN, HOST_LE);
  for (;;) {
    const state = Atomics.load(control, CTL_STATE);
    if (state === STATE_STOP || state === STATE_FAILED) return;
    if (state === STATE_READY) {
      Atomics.wait(control, CTL_STATE, STATE_READY);
      continue;
    }
    view.setInt16(tunRevents, 0, HOST_LE);
    const rc = libc.poll(fds.ptr, SLOTS, start.timeoutMs);
    if (rc < 0) {
      const err = errno();
      if (err === ERRNO.EINTR) continue;
      Atomics.store(control, CTL_ERRNO, err);
      if (Atomics.compareExchange(control, CTL_STATE, STATE_ARMED, STATE_FAILED) === STATE_ARMED) {
        Atomics.notify(control, CTL_STATE);
      }
      return;
    }
    // POLLIN, or POLLERR/POLLHUP/POLLNVAL, which the main thread's read() turns into an error.
    const tunReady = view.getInt16(tunRevents, HOST_LE) !== 0;
    if (tunReady && Atomics.compareExchange(control, CTL_STATE, STATE_ARMED, STATE_READY) === STATE_ARMED) {
      Atomics.notify(control, CTL_STATE);
    }
  }
}

addEventListener("message", (event: MessageEvent<PollStart>) => {
  const control = new Int32Array(event.data.control);
  try {
    pollLoop(event.data, control);
  } finally {
    Atomics.store(control, CTL_DONE, 1);
    Atomics.notify(control, CTL_DONE);
  }
  process.exit(0); // ends this worker only (Bun, like Node worker_threads)
});

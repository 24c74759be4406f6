/**
 * @module tun/poll-shared
 * The handshake between `tun/linux.ts` (main thread) and `tun/poll-worker.ts`: one
 * start message, then a small Int32Array over a SharedArrayBuffer. No imports, so the
 * Worker bundle stays tiny.
 *
 * State machine of `control[CTL_STATE]`:
 *   ARMED --worker: poll() says readable--> READY --main: drained to EAGAIN--> ARMED
 *   any --main: close()--> STOP;  ARMED --worker: poll() failed--> FAILED (errno in CTL_ERRNO)
 * The worker only moves ARMED -> READY | FAILED (compareExchange, so STOP always wins);
 * the main thread only moves READY -> ARMED and anything -> STOP. To stop a worker that is
 * inside poll(), the main thread also writes to the wake eventfd; the worker sets CTL_DONE
 * when it has left poll() for good, so the main thread can then close the TUN fd and know
 * that no poll() still holds the file (which would delay the interface's removal).
 */

/** Index of the state word. */
export const CTL_STATE = 0;
/** Index of the errno the worker saw when it moved to FAILED. */
export const CTL_ERRNO = 1;
/** Index of the worker's exit flag: 0 while it may still touch the fds, 1 once it has left its loop. */
export const CTL_DONE = 2;
/** Number of Int32 slots in the control array. */
export const CTL_SLOTS = 3;

/** The worker may poll; the main thread waits. */
export const STATE_ARMED = 0;
/** The fd is readable (or in error); the main thread drains it. */
export const STATE_READY = 1;
/** The device is closing: the worker leaves its loop. */
export const STATE_STOP = 2;
/** poll() failed in the worker; it has left its loop. */
export const STATE_FAILED = 3;

/** The one message the main thread posts to a new poll worker. */
export interface PollStart {
  /** The O_NONBLOCK TUN fd (shared: fds are per process, not per thread). */
  fd: number;
  /** An eventfd the main thread writes to wake the worker out of poll(). */
  wakeFd: number;
  /** Backing store of the control Int32Array (CTL_SLOTS slots). */
  control: SharedArrayBuffer;
  /** poll() timeout: a safety net only; STOP normally arrives through `wakeFd`. */
  timeoutMs: number;
}

/**
 * @module platform/linux/sd-notify
 * Tells systemd how the service is doing (sd_notify(3), `Type=notify`): one datagram
 * of `KEY=value` lines to the socket named by NOTIFY_SOCKET.
 *
 *   READY=1                       once the server serves (startup done)
 *   RELOADING=1 + MONOTONIC_USEC  a reload starts (systemd >= 253 wants the time for
 *                                 Type=notify-reload); READY=1 again when it is done
 *   STOPPING=1                    shutdown has begun
 *   STATUS=...                    one line for `systemctl status`
 *
 * Without NOTIFY_SOCKET (not under systemd) every call does nothing. The variable is
 * removed from the environment once read, so hooks and other children do not inherit it.
 * A failed send is reported once through `onError` and never throws.
 */

import { oneLine } from "../../lib/errors.ts";
import { monotonicMicros, sendDatagram } from "./unix-dgram.ts";

/** The service manager's view of warren. */
export interface ServiceNotifier {
  /** True when a service manager listens (NOTIFY_SOCKET was set). */
  readonly active: boolean;
  /** Startup is done (with a status line). */
  ready(status?: string): void;
  /** A reload begins; call `ready` when it is done. */
  reloading(): void;
  /** Shutdown has begun. */
  stopping(): void;
  /** A new status line (sent only when it differs from the last one). */
  status(text: string): void;
}

/** What a notification says; `status` only updates the status line. */
export type NotifyState = "ready" | "reloading" | "stopping" | "status";

/** The datagram for one state change; `status` lines lose their newlines. */
export function notifyMessage(state: NotifyState, monotonicUsec: bigint, status?: string): string {
  const lines = state === "ready" ? ["READY=1"] : state === "stopping" ? ["STOPPING=1"] : state === "reloading" ? ["RELOADING=1", `MONOTONIC_USEC=${monotonicUsec}`] : [];
  if (status !== undefined) lines.push(`STATUS=${status.replace(/\s*\n\s*/g, "; ")}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The notifier for this process: reads (and removes) NOTIFY_SOCKET from `env`.
 * `onError` hears about the first failed send.
 */
export function systemdNotifier(env: Record<string, string | undefined> = process.env, onError: (line: string) => void = () => {}): ServiceNotifier {
  const socket = env.NOTIFY_SOCKET ?? "";
  delete env.NOTIFY_SOCKET;
  const valid = socket.startsWith("/") || (socket.startsWith("@") && socket.length > 1);
  let failed = false;
  let lastStatus: string | undefined;
  const send = (state: NotifyState, status?: string): void => {
    if (!valid) return;
    lastStatus = status ?? lastStatus;
    try {
      sendDatagram(socket, notifyMessage(state, monotonicMicros(), status));
    } catch (e) {
      if (!failed) onError(`cannot notify systemd at ${socket}: ${oneLine(e)}`);
      failed = true;
    }
  };
  return {
    active: valid,
    ready: (status) => send("ready", status),
    reloading: () => send("reloading", "reloading"),
    stopping: () => send("stopping", "stopping"),
    status: (text) => {
      if (text !== lastStatus) send("status", text);
    },
  };
}

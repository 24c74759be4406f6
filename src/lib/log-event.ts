/**
 * @module lib/log-event
 * A log line with fields: `log.warn(logEvent("handshake-rejected", { endpoint, reason },
 * "handshake rejected from 192.0.2.7:5555 reason=bad-secret"))`. The text formats print
 * the message as it always read (tests and fail2ban filters grep it); `--log-format json`
 * prints `event`, the fields and `msg`. Any Logger accepts one, since it is just the
 * message argument: `String(event)` is the message.
 *
 * Event names in use: session-up, session-down, handshake-rejected, handshake-refused,
 * locked-out, kicked, set, reload, auth-reload, unlock, capture-start, capture-stop,
 * log-reopened.
 */

/** A value a field may hold (JSON). */
export type FieldValue = string | number | boolean | null | readonly FieldValue[] | { readonly [k: string]: FieldValue | undefined };

/** The fields of one event; undefined ones are left out. */
export type EventFields = { readonly [k: string]: FieldValue | undefined };

/** One event line: text formats print `message`, json adds `event` and the fields. */
export class LogEvent {
  /** Kebab-case name, e.g. `session-up`. */
  readonly event: string;
  readonly fields: EventFields;
  readonly message: string;

  constructor(event: string, fields: EventFields, message: string) {
    this.event = event;
    this.fields = fields;
    this.message = message;
  }

  /** Not a plain object: consola would otherwise take it for a log record (it has a `message`). */
  get [Symbol.toStringTag](): string {
    return "LogEvent";
  }

  /** The message, so any logger that prints strings prints the usual line. */
  toString(): string {
    return this.message;
  }
}

/** A log event: pass it as the message of `log.info`, `log.warn`, ... */
export function logEvent(event: string, fields: EventFields, message: string): LogEvent {
  return new LogEvent(event, fields, message);
}

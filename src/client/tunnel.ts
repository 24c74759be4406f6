/**
 * @module client/tunnel
 * The host side of one client run: the parameters in force and the TUN they configured.
 * A parameter datagram is parsed and checked (protocol/toyvpn.ts, params.ts); the
 * configurator (net.ts) brings the tunnel up on the first parameters and reconfigures
 * it only when the server pushes different ones, so a reconnect with the same
 * parameters changes nothing on the host; what changed is logged in words (changes.ts).
 * Every TUN the configurator hands back is started on the client's sink.
 */

import type { Logger } from "../lib/log.ts";
import { paramsText, parseParams, type Params } from "../protocol/toyvpn.ts";
import type { TunDevice, TunSink } from "../tun/device.ts";
import { describeChanges } from "./changes.ts";
import type { ClientNet } from "./net.ts";
import { checkParams } from "./params.ts";

/** A parameter datagram read: the parameters and their text, or what is wrong with them. */
export type ReadParams = { ok: true; params: Params; text: string } | { ok: false; problem: string };

/** Parses and checks the parameter datagram `d` (0x00 + text). */
export function readParams(d: Uint8Array): ReadParams {
  const text = (paramsText(d) ?? "").trim();
  const parsed = parseParams(text);
  if (!parsed.ok) return { ok: false, problem: parsed.error };
  const problem = checkParams(parsed.params);
  return problem === null ? { ok: true, params: parsed.params, text } : { ok: false, problem };
}

/** The TUN and the parameters in force; see the module comment. */
export class Tunnel {
  readonly #net: ClientNet;
  readonly #log: Logger;
  readonly #sink: TunSink;
  readonly #onStopped: (err: Error) => void;
  #tun: TunDevice | null = null;
  #params: Params | null = null;
  #text = "";

  /** `onStopped` hears (once per TUN) that a TUN stopped reading: the client cannot go on. */
  constructor(net: ClientNet, log: Logger, sink: TunSink, onStopped: (err: Error) => void) {
    this.#net = net;
    this.#log = log;
    this.#sink = sink;
    this.#onStopped = onStopped;
  }

  /** The parameters in force, or null before the first connection. */
  get params(): Params | null {
    return this.#params;
  }

  /** Their text as the server sent it (trimmed). */
  get text(): string {
    return this.#text;
  }

  /** The TUN, for packets from the server; null before the first parameters and after down(). */
  get tun(): TunDevice | null {
    return this.#tun;
  }

  /** Configures the host for `params` (see the module comment). Throws what the configurator throws. */
  apply(params: Params, text: string): void {
    if (this.#params === null) {
      const tun = this.#net.up(params);
      this.#tun = tun;
      tun.start(this.#sink, this.#tunFailed);
    } else if (text !== this.#text) {
      const changes = describeChanges(this.#params, params);
      for (const line of changes) this.#log.info(line);
      if (changes.length === 0) this.#log.debug(`parameters rewritten, same settings: ${text}`);
      const tun = this.#net.update(params);
      if (tun !== this.#tun) tun.start(this.#sink, this.#tunFailed);
      this.#tun = tun;
    }
    this.#params = params;
    this.#text = text;
  }

  /** Removes what the configurator added and closes the TUN. Idempotent. */
  down(): void {
    this.#tun = null;
    this.#net.down();
  }

  readonly #tunFailed = (err: Error): void => {
    this.#onStopped(new Error(`tun ${this.#tun?.name ?? ""} stopped: ${err.message}`));
  };
}

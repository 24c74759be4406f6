/**
 * @module admin/control
 * The server end of the control socket: a Unix stream socket (mode 0600, its folder
 * created 0700) speaking control-protocol.ts, one JSON line per request and per
 * response, answered in order. Never on the packet path: requests run on the event
 * loop between packet batches and only read snapshots or flip settings.
 *
 * The client's status socket (`warren client status`, client-control.ts) runs on the same
 * code with its own request set: a ControlDialect (the request parser, and the way out
 * every claim error names).
 *
 * Lifecycle:
 *   1. claimSocket(path): create the folder; a socket file nobody answers on is stale
 *      and removed; one a live server answers on is refused (ERR_CONTROL_IN_USE), and
 *      the server does not start (ops.ts).
 *   2. listenControl(path, handler): bind with umask 0177 (no window with wider mode).
 *   3. stop(): close the listener; the socket file is removed (if it is still ours).
 */

import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { Socket, SocketHandler } from "bun";
import { codeOrMessage, ConfigError, fsReason, WarrenError } from "../lib/errors.ts";
import { got } from "../lib/issues.ts";
import type { Logger } from "../lib/log.ts";
import { encodeLine, fail, MAX_LINE, parseRequestLine, type Request, type Response } from "./control-protocol.ts";
import { controlRequest } from "./control-client.ts";

/** The way out that every claim error names. */
const OTHER_PATH = "; give this server its own --control-socket PATH, or --control-socket none";

/** What every control request has: a command name. */
export interface CommandLike {
  cmd: string;
}

/** Answers one request. May be async; errors become `ERR_INTERNAL` responses. */
export type ControlHandler<Q extends CommandLike = Request> = (req: Q) => Response | Promise<Response>;

/** What sets one control socket apart from another: its requests, and the way out its claim errors name. */
export interface ControlDialect<Q extends CommandLike> {
  /** Parses one request line; never throws. */
  parse(line: string): { ok: true; request: Q } | { ok: false; error: string };
  /** Appended to every claim/listen error, e.g. `; give this server its own --control-socket PATH ...`. */
  hint: string;
}

/** The server's control socket (control-protocol.ts). */
const SERVER_DIALECT: ControlDialect<Request> = { parse: parseRequestLine, hint: OTHER_PATH };

/** A listening control socket. */
export interface ControlServer {
  readonly path: string;
  /** Stops listening and removes the socket file. Idempotent. */
  stop(): void;
}

/**
 * Makes `path` usable: creates its folder (0700), removes a stale socket file, and
 * throws ERR_CONTROL_IN_USE when another warren answers there (`hello`), ERR_CONTROL
 * when the path holds something that is not a socket. `hint` ends every error.
 */
export async function claimSocket(path: string, hint = OTHER_PATH): Promise<void> {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new ConfigError("controlSocket", `cannot create its folder: ${fsReason(e)}${got(path)}`);
    }
  }
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) throw new WarrenError("ERR_CONTROL", `control socket ${path}: exists and is not a socket; not touching it${hint}`);
  try {
    const hello = await controlRequest(path, { cmd: "hello" }, 2000);
    throw new WarrenError("ERR_CONTROL_IN_USE", `control socket ${path}: another warren (pid ${hello.pid}) answers there${hint}`);
  } catch (e) {
    if (e instanceof WarrenError && e.code === "ERR_CONTROL_IN_USE") throw e;
    if (e instanceof WarrenError && e.code === "ERR_NO_SERVER") {
      unlinkSync(path); // stale: left by a server that died
      return;
    }
    throw new WarrenError("ERR_CONTROL_IN_USE", `control socket ${path}: something answers there (${e instanceof Error ? e.message : String(e)})${hint}`);
  }
}

/** One client connection: its partial line, unwritten output and the chain of requests in flight. */
interface ConnState {
  dec: TextDecoder;
  buf: string;
  out: Uint8Array | null;
  chain: Promise<void>;
  closed: boolean;
}

/** Writes `bytes` after whatever is still pending on `sock`; keeps what the kernel did not take for `drain`. */
function writeQueued(sock: Socket<ConnState>, bytes: Uint8Array | null): void {
  const st = sock.data;
  const pending = st.out === null ? bytes : bytes === null ? st.out : Buffer.concat([st.out, bytes]);
  if (pending === null) return;
  const n = sock.write(pending);
  st.out = n < pending.length ? pending.subarray(Math.max(0, n)) : null;
}

/** The socket callbacks: one request per line, answered in order; a line over MAX_LINE ends the connection. */
function connectionHandlers<Q extends CommandLike>(handler: ControlHandler<Q>, log: Logger, parseLine: ControlDialect<Q>["parse"]): SocketHandler<ConnState> {
  const send = (sock: Socket<ConnState>, res: Response): void => {
    if (!sock.data.closed) writeQueued(sock, Buffer.from(encodeLine(res)));
  };
  const answer = async (req: Q): Promise<Response> => {
    try {
      return await handler(req);
    } catch (e) {
      log.warn(`control: ${req.cmd} failed: ${e instanceof Error ? e.message : String(e)}`);
      return fail("ERR_INTERNAL", e instanceof Error ? e.message : String(e));
    }
  };
  return {
    open(sock) {
      sock.data = { dec: new TextDecoder(), buf: "", out: null, chain: Promise.resolve(), closed: false };
    },
    data(sock, chunk) {
      const st = sock.data;
      st.buf += st.dec.decode(chunk, { stream: true });
      if (st.buf.length > MAX_LINE) {
        send(sock, fail("ERR_TOO_LONG", `request longer than ${MAX_LINE} bytes`));
        sock.end();
        return;
      }
      let nl: number;
      while ((nl = st.buf.indexOf("\n")) >= 0) {
        const line = st.buf.slice(0, nl).trim();
        st.buf = st.buf.slice(nl + 1);
        if (line === "") continue;
        const parsed = parseLine(line);
        st.chain = st.chain.then(async () => send(sock, parsed.ok ? await answer(parsed.request) : fail("ERR_BAD_REQUEST", parsed.error)));
      }
    },
    drain(sock) {
      writeQueued(sock, null);
    },
    close(sock) {
      sock.data.closed = true;
    },
    error(_sock, e) {
      log.debug(`control: connection error: ${e.message}`);
    },
  };
}

/** Listens on `path` (call claimSocket first) for the server's requests. Throws a one-line WarrenError when it cannot bind. */
export function listenControl(path: string, handler: ControlHandler, log: Logger): ControlServer {
  return listenDialect(path, handler, log, SERVER_DIALECT);
}

/** Listens on `path` (call claimSocket first) for the requests of `d`. Throws a one-line WarrenError when it cannot bind. */
export function listenDialect<Q extends CommandLike>(path: string, handler: ControlHandler<Q>, log: Logger, d: ControlDialect<Q>): ControlServer {
  const oldMask = process.umask(0o177);
  let listener: ReturnType<typeof Bun.listen<ConnState>>;
  try {
    listener = Bun.listen<ConnState>({ unix: path, socket: connectionHandlers(handler, log, d.parse) });
  } catch (e) {
    throw new WarrenError("ERR_CONTROL", `control socket ${path}: cannot listen: ${codeOrMessage(e)}${d.hint}`);
  } finally {
    process.umask(oldMask);
  }
  chmodSync(path, 0o600);
  const ino = statSync(path).ino;
  let stopped = false;
  return {
    path,
    stop() {
      if (stopped) return;
      stopped = true;
      listener.stop(true);
      try {
        if (statSync(path).ino === ino) unlinkSync(path);
      } catch {
        /* already gone (Bun removes it on stop) */
      }
    },
  };
}
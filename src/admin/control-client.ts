/**
 * @module admin/control-client
 * The client end of the control socket: connect, send one request line, read one
 * response line, validate it (envelope and the command's result schema), close.
 * controlRequest speaks to a server; controlCall to any warren control socket (the
 * client's status socket), given the result schema and who is expected to answer.
 *
 * Errors are one-line WarrenErrors with stable codes:
 *   ERR_NO_SERVER   nothing listens at the path (missing file or stale socket)
 *   ERR_CONTROL     the socket cannot be opened (permissions), timed out, or answered garbage
 *   the server's own code (ERR_NOT_FOUND, ERR_BAD_VALUE, ...) for a refused request
 */

import * as v from "valibot";
import { errorCode, WarrenError } from "../lib/errors.ts";
import { encodeLine, MAX_LINE, RESULT_SCHEMAS, ResponseSchema, type Request, type ResultOf } from "./control-protocol.ts";

/** How long the CLI waits for an answer. */
export const CONTROL_TIMEOUT_MS = 10_000;

/** Who is expected to answer on a socket, for messages: `server` or `client`, and where its path is set. */
export interface ControlPeer {
  name: string;
  /** e.g. `see --control-socket`. */
  hint: string;
}

const SERVER_PEER: ControlPeer = { name: "server", hint: "see --control-socket" };

/** Sends `req` to the server at `path` and returns its validated result. */
export async function controlRequest<R extends Request>(path: string, req: R, timeoutMs = CONTROL_TIMEOUT_MS): Promise<ResultOf<R["cmd"]>> {
  return (await controlCall(path, req, RESULT_SCHEMAS[req.cmd], SERVER_PEER, timeoutMs)) as ResultOf<R["cmd"]>;
}

/** Sends `req` to the warren `peer` at `path` and returns its result, validated against `schema`. */
export async function controlCall<S extends v.GenericSchema>(
  path: string, req: { cmd: string }, schema: S, peer: ControlPeer, timeoutMs = CONTROL_TIMEOUT_MS,
): Promise<v.InferOutput<S>> {
  const line = await exchange(path, encodeLine(req), timeoutMs, peer);
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new WarrenError("ERR_CONTROL", `the ${peer.name} at ${path} answered something that is not JSON`);
  }
  const env = v.safeParse(ResponseSchema, raw);
  if (!env.success) throw new WarrenError("ERR_CONTROL", `the ${peer.name} at ${path} answered an invalid response`);
  const res = env.output;
  if (!res.ok) throw new WarrenError(res.code, res.error);
  const r = v.safeParse(schema, res.result);
  if (!r.success) {
    const at = r.issues[0] ? v.getDotPath(r.issues[0]) : null;
    throw new WarrenError("ERR_CONTROL", `the ${peer.name}'s ${req.cmd} result does not match this CLI's schema${at ? ` (at ${at})` : ""}; are both the same version?`);
  }
  return r.output;
}

/** Connects, writes `text`, resolves with the first line read (without newline). */
function exchange(path: string, text: string, timeoutMs: number, peer: ControlPeer): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let buf = "";
    let done = false;
    const dec = new TextDecoder();
    const finish = (err: Error | null, line?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(line ?? "");
    };
    const timer = setTimeout(() => finish(new WarrenError("ERR_CONTROL", `no answer from ${path} within ${timeoutMs} ms`)), timeoutMs);
    Bun.connect({
      unix: path,
      socket: {
        open(sock) {
          sock.write(text);
        },
        data(sock, chunk) {
          buf += dec.decode(chunk, { stream: true });
          const nl = buf.indexOf("\n");
          if (nl >= 0) {
            finish(null, buf.slice(0, nl));
            sock.end();
          } else if (buf.length > MAX_LINE) {
            finish(new WarrenError("ERR_CONTROL", `answer from ${path} is too long`));
            sock.end();
          }
        },
        close() {
          finish(new WarrenError("ERR_CONTROL", `the ${peer.name} at ${path} closed the connection without answering`));
        },
        error(_sock, e) {
          finish(new WarrenError("ERR_CONTROL", `control socket ${path}: ${e.message}`));
        },
      },
    }).catch((e: unknown) => finish(connectError(path, e, peer)));
  });
}

/** Turns a connect failure into the one line an operator needs. */
function connectError(path: string, e: unknown, peer: ControlPeer): WarrenError {
  const code = errorCode(e) ?? "";
  if (code === "ENOENT") return new WarrenError("ERR_NO_SERVER", `no warren ${peer.name} is running (no control socket at ${path}; ${peer.hint})`);
  if (code === "ECONNREFUSED") return new WarrenError("ERR_NO_SERVER", `no warren ${peer.name} is running (stale control socket at ${path})`);
  if (code === "EACCES" || code === "EPERM") {
    return new WarrenError("ERR_CONTROL", `cannot open control socket ${path}: permission denied (run as root, or as the user running the ${peer.name})`);
  }
  return new WarrenError("ERR_CONTROL", `cannot open control socket ${path}: ${code || (e instanceof Error ? e.message : String(e))}`);
}

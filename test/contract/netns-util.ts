/**
 * @module test/contract/netns-util
 * Network namespaces for the contract tests (TESTING.md rules): every namespace is named
 * `wtp<pid>-<suffix>`, deleted in afterAll, and a run first deletes namespaces left by
 * earlier runs whose process is gone. Processes are started inside a namespace with
 * `ip netns exec` and killed by PID only. Nothing here touches the root namespace.
 */

import { spawnSync, type Subprocess } from "bun";
import { existsSync } from "node:fs";

/** This run's namespace prefix. */
export const NS_PREFIX = `wtp${process.pid}`;

/** The bun binary running the tests, for child processes. */
export const BUN = process.execPath;

/** Why namespace tests cannot run here, or null when they can (root, `ip`, /dev/net/tun). */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (CAP_NET_ADMIN) to create network namespaces and TUN devices";
  if (!existsSync("/dev/net/tun")) return "/dev/net/tun is missing (modprobe tun)";
  if (spawnSync(["ip", "netns", "list"]).exitCode !== 0) return "`ip netns` is not available";
  return null;
}

/** Runs `ip ARGS`; throws with its stderr when it fails. */
export function ip(...args: string[]): string {
  const res = spawnSync(["ip", ...args]);
  if (res.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${res.stderr.toString().trim()}`);
  return res.stdout.toString();
}

/** True when `ip ARGS` exits 0. */
export function ipOk(...args: string[]): boolean {
  return spawnSync(["ip", ...args]).exitCode === 0;
}

/** Deletes `wtp<pid>-*` namespaces whose process no longer exists (or is this one). */
export function deleteLeftovers(): void {
  for (const line of ip("netns", "list").split("\n")) {
    const match = /^(wtp(\d+)-\S+)/.exec(line.trim());
    if (!match?.[1] || !match[2]) continue;
    const pid = Number(match[2]);
    if (pid === process.pid || !existsSync(`/proc/${pid}`)) ipOk("netns", "delete", match[1]);
  }
}

/** Creates namespace `wtp<pid>-<suffix>` with loopback up; returns its name. */
export function createNetns(suffix: string): string {
  const name = `${NS_PREFIX}-${suffix}`;
  ipOk("netns", "delete", name);
  ip("netns", "add", name);
  ip("-n", name, "link", "set", "lo", "up");
  return name;
}

/** Deletes a namespace (its TUNs and routes go with it); ignores a missing one. */
export function deleteNetns(name: string): void {
  ipOk("netns", "delete", name);
}

/** Starts `argv` inside namespace `ns` with piped stdio. */
export function spawnInNetns(ns: string, argv: string[]): Subprocess<"pipe", "pipe", "pipe"> {
  return Bun.spawn(["ip", "netns", "exec", ns, ...argv], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
}

/** Kills a child by PID if it is still running. */
export function killChild(child: Subprocess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/** Yields a child's output stream line by line. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
  }
  if (buffered !== "") yield buffered;
}

/** Resolves with `promise`, or rejects after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Throws unless this process runs inside a namespace a contract test created (`wtp<pid>-*`):
 * the real-implementation suites open TUNs and sockets and must never do so in the root
 * namespace (TESTING.md rule 1).
 */
export function requireTestNetns(): void {
  const res = spawnSync(["ip", "netns", "identify", String(process.pid)]);
  const name = res.stdout.toString().trim();
  if (!/^wtp\d+-/.test(name)) throw new Error(`refusing to run outside a test namespace (ip netns identify says ${JSON.stringify(name)}); run through the *.contract.test.ts files`);
}

/** What a `bun test` run inside a namespace reported. */
export interface SuiteRun {
  code: number;
  passed: number;
  failed: number;
  output: string;
}

/** Runs `bun test FILE` inside namespace `ns`, bounded; the child is killed if it overruns. */
export async function bunTestInNetns(ns: string, file: string, timeoutMs = 90_000): Promise<SuiteRun> {
  const child = spawnInNetns(ns, [BUN, "test", file]);
  try {
    const streams = Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    const [out, err] = await within(timeoutMs, `bun test ${file} in ${ns}`, streams);
    const code = await within(5_000, `bun test ${file} to exit`, child.exited);
    const output = `${out}${err}`;
    const count = (what: string) => Number(new RegExp(`^\\s*(\\d+) ${what}$`, "m").exec(output)?.[1] ?? 0);
    return { code, passed: count("pass"), failed: count("fail"), output };
  } finally {
    killChild(child);
  }
}

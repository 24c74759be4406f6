/**
 * platform/linux/sd-notify and unix-dgram: the notifications reach a datagram socket the
 * test binds (playing systemd), by file path and in the abstract namespace. No root needed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { notifyMessage, systemdNotifier } from "../../../src/platform/linux/sd-notify.ts";
import { DatagramReceiver, monotonicMicros, sendDatagram, unixAddress } from "../../../src/platform/linux/unix-dgram.ts";

const dir = mkdtempSync(join(tmpdir(), "warren-notify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything waiting on `r`, as one array of datagrams. */
function drain(r: DatagramReceiver): string[] {
  const out: string[] = [];
  for (let m = r.receive(); m !== null; m = r.receive()) out.push(m);
  return out;
}

describe("unix datagram sockets", () => {
  test("sockaddr_un: family 1, path with NUL; abstract with a leading NUL and none at the end", () => {
    expect([...unixAddress("/run/x")]).toEqual([1, 0, 47, 114, 117, 110, 47, 120, 0]);
    expect([...unixAddress("@ab")]).toEqual([1, 0, 0, 97, 98]);
    expect(() => unixAddress(`/${"x".repeat(200)}`)).toThrow(/at most 107 bytes/);
  });

  test("send and receive one datagram; nothing waiting is null; a missing socket is an error", () => {
    const r = DatagramReceiver.bind(join(dir, "a.sock"));
    try {
      expect(r.receive()).toBeNull();
      sendDatagram(r.path, "hello\nworld");
      expect(drain(r)).toEqual(["hello\nworld"]);
      expect(() => sendDatagram(join(dir, "nobody.sock"), "x")).toThrow(/cannot send to .*nobody\.sock: ENOENT/);
    } finally {
      r.close();
    }
  });

  test("the monotonic clock moves forward in microseconds", async () => {
    const a = monotonicMicros();
    await Bun.sleep(20);
    const d = monotonicMicros() - a;
    expect(d >= 15_000n && d < 5_000_000n).toBe(true);
  });
});

describe("systemdNotifier", () => {
  test("READY, RELOADING with MONOTONIC_USEC, READY, STATUS (only when it changes), STOPPING; NOTIFY_SOCKET leaves the environment", () => {
    const r = DatagramReceiver.bind(join(dir, "notify.sock"));
    try {
      const env: Record<string, string | undefined> = { NOTIFY_SOCKET: r.path, OTHER: "1" };
      const n = systemdNotifier(env);
      expect(env).toEqual({ OTHER: "1" });
      expect(n.active).toBe(true);
      const before = monotonicMicros();
      n.ready("serving udp [::]:8000");
      n.reloading();
      n.ready("reloaded (SIGHUP)");
      n.status("2 clients");
      n.status("2 clients");
      n.stopping();
      const got = drain(r);
      expect(got.length).toBe(5);
      expect(got[0]).toBe("READY=1\nSTATUS=serving udp [::]:8000\n");
      const usec = BigInt(/^RELOADING=1\nMONOTONIC_USEC=(\d+)\nSTATUS=reloading\n$/.exec(got[1] ?? "")?.[1] ?? "0");
      expect(usec >= before && usec <= monotonicMicros()).toBe(true);
      expect(got.slice(2)).toEqual(["READY=1\nSTATUS=reloaded (SIGHUP)\n", "STATUS=2 clients\n", "STOPPING=1\nSTATUS=stopping\n"]);
    } finally {
      r.close();
    }
  });

  test("an abstract socket (@name, as systemd sets it)", () => {
    const name = `@warren-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const r = DatagramReceiver.bind(name);
    try {
      systemdNotifier({ NOTIFY_SOCKET: name }).ready();
      expect(drain(r)).toEqual(["READY=1\n"]);
    } finally {
      r.close();
    }
  });

  test("no NOTIFY_SOCKET: inactive, does nothing; a dead socket is reported once and never throws", () => {
    const quiet = systemdNotifier({});
    expect(quiet.active).toBe(false);
    quiet.ready();
    const errors: string[] = [];
    const dead = systemdNotifier({ NOTIFY_SOCKET: join(dir, "gone.sock") }, (l) => errors.push(l));
    dead.ready();
    dead.stopping();
    expect(errors).toEqual([`cannot notify systemd at ${join(dir, "gone.sock")}: cannot send to ${join(dir, "gone.sock")}: ENOENT`]);
  });

  test("message texts", () => {
    expect(notifyMessage("stopping", 0n)).toBe("STOPPING=1\n");
    expect(notifyMessage("ready", 0n, "a\nb")).toBe("READY=1\nSTATUS=a; b\n");
  });
});

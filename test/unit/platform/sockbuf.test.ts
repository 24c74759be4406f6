import { describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { isSocketFd, setSocketBuffers } from "../../../src/platform/linux/sockbuf.ts";
import { openUdp } from "../../../src/transport/udp.ts";
import { quietLogger } from "../../lib/log.ts";

const isRoot = process.getuid?.() === 0;

describe("UDP socket buffers", () => {
  test("the transport exposes its socket fd", async () => {
    const t = await openUdp("127.0.0.1", 0, quietLogger);
    try {
      expect(t.fd).not.toBeNull();
      expect(isSocketFd(t.fd as number)).toBe(true);
    } finally {
      t.close();
    }
  });

  test.skipIf(!isRoot)("with CAP_NET_ADMIN the buffers go past the kernel default", async () => {
    const t = await openUdp("127.0.0.1", 0, quietLogger);
    try {
      const got = setSocketBuffers(t.fd as number, 3 << 20);
      // the kernel reports twice the requested size
      expect(got.rcvbuf).toBe(6 << 20);
      expect(got.sndbuf).toBe(6 << 20);
    } finally {
      t.close();
    }
  });

  test("a non-socket fd is refused with a clear error", () => {
    const fd = openSync("/dev/null", "r");
    try {
      expect(() => setSocketBuffers(fd, 1 << 20)).toThrow(/not a socket/);
    } finally {
      closeSync(fd);
    }
  });
});

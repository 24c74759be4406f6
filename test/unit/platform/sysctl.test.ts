/**
 * Forwarding sysctls on a fake /proc/sys tree (plain files, so the kernel's cascade is
 * played by hand where it matters).
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { disableIpv6, enableForwarding, forwardingSnapshot, restoreSysctls } from "../../../src/platform/linux/sysctl.ts";

let root: string;
const put = (rel: string, v: string) => {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), `${v}\n`);
};
const get = (rel: string) => readFileSync(join(root, rel), "utf8").trim();

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "warren-sysctl-"));
  put("net/ipv4/ip_forward", "0");
  for (const i of ["all", "default", "eth0", "lo"]) put(`net/ipv4/conf/${i}/forwarding`, "0");
  for (const i of ["all", "default", "eth0", "lo"]) put(`net/ipv6/conf/${i}/forwarding`, i === "eth0" ? "1" : "0");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("forwarding sysctls", () => {
  test("the snapshot holds each switch that is off and every per-interface value of that family", () => {
    expect(forwardingSnapshot([4], root)).toEqual({
      "net/ipv4/ip_forward": "0",
      "net/ipv4/conf/all/forwarding": "0",
      "net/ipv4/conf/default/forwarding": "0",
      "net/ipv4/conf/eth0/forwarding": "0",
      "net/ipv4/conf/lo/forwarding": "0",
    });
    expect(Object.keys(forwardingSnapshot([6], root))).toEqual([
      "net/ipv6/conf/all/forwarding",
      "net/ipv6/conf/default/forwarding",
      "net/ipv6/conf/eth0/forwarding",
      "net/ipv6/conf/lo/forwarding",
    ]);
  });

  test("a switch already on is neither recorded nor written", () => {
    put("net/ipv4/ip_forward", "1");
    const snap = forwardingSnapshot([4], root);
    expect(snap).toEqual({});
    enableForwarding(snap, root);
    restoreSysctls(snap, root);
    expect(get("net/ipv4/ip_forward")).toBe("1");
  });

  test("enable writes the switches; restore puts back the switch and what the cascade changed", () => {
    const snap = forwardingSnapshot([4, 6], root);
    enableForwarding(snap, root);
    expect(get("net/ipv4/ip_forward")).toBe("1");
    expect(get("net/ipv6/conf/all/forwarding")).toBe("1");
    // The kernel's cascade: every interface follows the switch; the TUN appeared meanwhile.
    for (const i of ["all", "default", "eth0", "lo"]) put(`net/ipv6/conf/${i}/forwarding`, "1");
    put("net/ipv6/conf/tun0/forwarding", "1");
    restoreSysctls(snap, root);
    expect(get("net/ipv4/ip_forward")).toBe("0");
    expect(get("net/ipv6/conf/all/forwarding")).toBe("0");
    expect(get("net/ipv6/conf/default/forwarding")).toBe("0");
    expect(get("net/ipv6/conf/eth0/forwarding")).toBe("1");
    expect(get("net/ipv6/conf/lo/forwarding")).toBe("0");
  });

  test("an interface gone by restore time is skipped", () => {
    const snap = forwardingSnapshot([4], root);
    rmSync(join(root, "net/ipv4/conf/eth0"), { recursive: true });
    expect(() => restoreSysctls(snap, root)).not.toThrow();
  });

  test("a missing switch (IPv6 disabled) is a one-line error", () => {
    rmSync(join(root, "net/ipv6"), { recursive: true });
    expect(() => forwardingSnapshot([6], root)).toThrow(/cannot read net\.ipv6\.conf\.all\.forwarding \(is IPv6 disabled\?\)/);
  });
});

describe("disableIpv6", () => {
  test("writes 1 to net.ipv6.conf.<if>.disable_ipv6 of that interface only", () => {
    put("net/ipv6/conf/wc1/disable_ipv6", "0");
    put("net/ipv6/conf/eth0/disable_ipv6", "0");
    expect(disableIpv6("wc1", root)).toBe(true);
    expect(get("net/ipv6/conf/wc1/disable_ipv6")).toBe("1");
    expect(get("net/ipv6/conf/eth0/disable_ipv6")).toBe("0");
  });

  test("an interface without IPv6 settings (IPv6 off in the kernel) is not an error", () => {
    expect(disableIpv6("wc9", root)).toBe(false);
    expect(disableIpv6("../../x", root)).toBe(false);
  });
});

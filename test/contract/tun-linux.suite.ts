/**
 * @module test/contract/tun-linux.suite
 * The TunDevice contract suite (tun.case.ts) on the real LinuxTun. Not a `*.test.ts`:
 * tun.contract.test.ts runs it as root with `ip netns exec <its namespace> bun test
 * tun-linux.suite.ts`, so the TUN, its addresses and every packet stay inside a namespace
 * the test created. Refuses to run in a namespace it was not started in. Runs twice: on the
 * plain TUN (`--data-path simple`) and on the multi-queue TUN with a virtio_net_hdr that
 * `--data-path fast` creates, which the simple path reads and writes when the fast one
 * cannot start or stops (LinuxTun then strips and adds the header).
 */

import { spawnSync } from "bun";
import { openLinuxTun } from "../../src/tun/linux.ts";
import { sleep } from "../lib/wait.ts";
import { PEER_ADDR, PEER_PORT, TUN_ADDR, type TunHarness, tunContract } from "./tun.case.ts";
import { requireTestNetns } from "./netns-util.ts";

const NAME = "wtc0";

requireTestNetns();

async function openLinux(fastTun: boolean): Promise<TunHarness> {
  const tun = openLinuxTun({ name: NAME, mtu: 1400, ipv4: { address: TUN_ADDR, prefixLen: 24 }, multiQueue: fastTun, vnetHdr: fastTun });
  const rx: Uint8Array[] = [];
  const local = await Bun.udpSocket({ hostname: TUN_ADDR, port: 0, binaryType: "uint8array", socket: { data: (_s, d) => void rx.push(d.slice()) } });
  const out = await Bun.udpSocket({ binaryType: "uint8array" });
  return {
    tun,
    port: local.port,
    received: () => rx,
    async sendIntoTunnel(payloads) {
      for (const p of payloads) {
        try {
          out.send(p, PEER_PORT, PEER_ADDR);
        } catch {
          // no route once the device is closed: nothing enters the tunnel, as the test expects
        }
        await sleep(1); // paced: the TUN's transmit queue holds 500 packets
      }
    },
    async breakReads() {
      spawnSync(["ip", "link", "del", NAME]);
    },
    settle: () => sleep(200),
    async dispose() {
      local.close();
      out.close();
      tun.close();
    },
  };
}

tunContract("LinuxTun", () => openLinux(false));
tunContract("LinuxTun (multi-queue, virtio_net_hdr)", () => openLinux(true));

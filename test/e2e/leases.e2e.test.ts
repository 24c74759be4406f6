/**
 * @module leases.e2e.test
 * Sticky addresses survive `kill -9`: the compiled `dist/warren server` in a network
 * namespace (rules: /work/shared/TESTING.md) with its own --state-dir in the lab folder,
 * driven by the toyclient (one handshake per device id).
 *
 *   [c1] toyclient --id alpha / bravo / charlie --veth-- [srv] warren (TUN wtls0, 10.8.0.0/24, UDP 0.0.0.0:8400)
 *
 * alpha and bravo connect (10.8.0.2, .3); once the lease file holds them the server is
 * killed with SIGKILL and started again on the same state dir: bravo, connecting first,
 * still gets .3, a new device avoids both, and alpha gets .2 back.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type BgProcess, Lab, netnsOrWarn, removeStale, type Topology, waitFor, waitForLog, waitForUdpListener, withLogs } from "./netns.ts";
import { ensureWarren, toyclient } from "./tools.ts";

const SECRET = "lease-e2e-Secret";
const PORT = 8400;
const TUN = "wtls0";
const ok = netnsOrWarn("lease persistence e2e tests (need root and ip netns)");

describe.skipIf(!ok)("leases survive kill -9", () => {
  const lab = new Lab("lease");
  let topo: Topology;
  let stateDir: string;
  let runs = 0;

  async function startWarren(): Promise<BgProcess> {
    const bin = await ensureWarren();
    const p = lab.spawn(topo.server, `warren${++runs}`, [bin, "server", "--secret", SECRET, "--tun", TUN, "--listen", `0.0.0.0:${PORT}`, "--state-dir", stateDir]);
    await waitForLog(p, "server ready", 20_000);
    await withLogs([p], () => waitForUdpListener(topo.server, PORT, 5000));
    return p;
  }

  /** Handshakes as device `id` and returns the pushed tunnel address. */
  async function connect(id: string): Promise<string | undefined> {
    const c1 = topo.clients[0];
    if (!c1) throw new Error("no client");
    const r = await toyclient(lab, c1.ns, `toy-${id}-${runs}`, { server: `${c1.serverAddr}:${PORT}`, secret: SECRET, id });
    return r.address;
  }

  /** Device keys in the lease file, or [] when there is none yet. */
  function savedDevices(path: string): string[] {
    if (!existsSync(path)) return [];
    const doc = JSON.parse(readFileSync(path, "utf8")) as { leases: Array<{ device: string }> };
    return doc.leases.map((l) => l.device);
  }

  beforeAll(async () => {
    await removeStale();
    await ensureWarren();
    topo = await lab.topology(1);
    stateDir = join(lab.dir, "state");
  }, 120_000);

  afterAll(() => lab.cleanup(), 60_000);

  test("same device id -> same address after kill -9 and a restart on the same state dir", async () => {
    const leases = join(stateDir, `leases-${TUN}.json`);
    const first = await startWarren();
    await withLogs([first], async () => {
      expect(await connect("alpha")).toBe("10.8.0.2");
      expect(await connect("bravo")).toBe("10.8.0.3");
      // saved in the background within a few seconds, not per handshake
      await waitFor("the lease file to hold both devices", () => savedDevices(leases).length === 2 || undefined, { timeoutMs: 15_000, intervalMs: 200 });
    });
    expect(await lab.stop(first, "SIGKILL")).toBe(137);
    expect(statSync(leases).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    const second = await startWarren();
    await withLogs([second], async () => {
      await waitForLog(second, "leases: restored 2", 5000);
      expect(await connect("bravo")).toBe("10.8.0.3");
      expect(await connect("charlie")).toBe("10.8.0.4");
      expect(await connect("alpha")).toBe("10.8.0.2");
      expect(await lab.stop(second)).toBe(0);
    });
    expect(savedDevices(leases).sort()).toEqual(["alpha", "bravo", "charlie"]);
  }, 120_000);
});

/**
 * @module test/fakes/fake-client-net
 * A ClientNet (src/client/net.ts) that records what the client engine asked of the host
 * configuration (`up ADDRS`, `update ADDRS`, `down`) and hands out FakeTuns.
 */

import type { ClientNet } from "../../src/client/net.ts";
import type { Params } from "../../src/protocol/toyvpn.ts";
import { FakeTun } from "./fake-tun.ts";

/** Records what the engine asked of the host configuration. */
export class FakeNet implements ClientNet {
  readonly calls: string[] = [];
  readonly tuns: FakeTun[] = [];
  failUp: Error | null = null;
  up(p: Params): FakeTun {
    this.calls.push(`up ${p.addresses.map((a) => a.address).join(",")}`);
    if (this.failUp) throw this.failUp;
    return this.#newTun(p.mtu);
  }
  update(p: Params): FakeTun {
    this.calls.push(`update ${p.addresses.map((a) => a.address).join(",")}`);
    return this.#newTun(p.mtu);
  }
  down(): void {
    this.calls.push("down");
    for (const t of this.tuns) t.close();
  }
  get tun(): FakeTun {
    const t = this.tuns[this.tuns.length - 1];
    if (!t) throw new Error("no TUN yet");
    return t;
  }
  #newTun(mtu: number): FakeTun {
    const t = new FakeTun(mtu);
    this.tuns.push(t);
    return t;
  }
}

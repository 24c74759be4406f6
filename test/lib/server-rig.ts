/**
 * @module test/lib/server-rig
 * The server with its ToyVpn front door on fakes (FakeTun, FakeUdp, ManualClock), as
 * `warren server` wires it, for component tests.
 */

import type { Authenticator } from "../../src/auth/secret.ts";
import { handshakeLimits } from "../../src/config/auth-schema.ts";
import { validate } from "../../src/config/load.ts";
import { type ServerConfig, ServerConfigSchema } from "../../src/config/server-schema.ts";
import { SecretAuth } from "../../src/auth/secret.ts";
import type { Logger } from "../../src/lib/log.ts";
import { type ToyVpnDoor, toyVpnDoor } from "../../src/server/doors/toyvpn.ts";
import { type ReloadableAuth, Server, type ServerDeps } from "../../src/server/server.ts";
import { FakeTun } from "../fakes/fake-tun.ts";
import { FakeUdp } from "../fakes/fake-udp.ts";
import { ManualClock } from "../fakes/manual-clock.ts";
import { quietLogger } from "./log.ts";

/** A started server and its fakes. */
export interface ToyRig {
  server: Server;
  toy: ToyVpnDoor;
  tun: FakeTun;
  udp: FakeUdp;
  clock: ManualClock;
  config: ServerConfig;
}

/** What a rig may be given; anything left out gets a fresh fake. */
export interface RigOptions {
  /** Raw config (validated here); `secret: "s3cret"` unless given. */
  config?: Record<string, unknown>;
  auth?: Authenticator;
  reloadable?: ReloadableAuth;
  tun?: FakeTun;
  udp?: FakeUdp;
  clock?: ManualClock;
  log?: Logger;
  /** Persisted leases (ServerDeps.leases). */
  leases?: ServerDeps["leases"];
  /** A data-path shortcut (ServerDeps.openDataPath). */
  openDataPath?: ServerDeps["openDataPath"];
}

/** Validates the config and starts a server on fakes with the ToyVpn door. */
export async function startToyServer(o: RigOptions = {}): Promise<ToyRig> {
  const config = validate(ServerConfigSchema, { secret: "s3cret", ...o.config });
  const tun = o.tun ?? new FakeTun();
  const udp = o.udp ?? new FakeUdp();
  const clock = o.clock ?? new ManualClock();
  const spec = toyVpnDoor({ ...config, limits: handshakeLimits(config) }, o.auth ?? new SecretAuth(config.secret ?? "s3cret"));
  const server = await Server.start(config, {
    openTun: () => tun,
    openTransport: async () => udp,
    doors: [spec],
    clock,
    log: o.log ?? quietLogger,
    ...(o.reloadable ? { auth: o.reloadable } : {}),
    ...(o.leases ? { leases: o.leases } : {}),
    ...(o.openDataPath ? { openDataPath: o.openDataPath } : {}),
  });
  return { server, toy: server.doors[0] as ToyVpnDoor, tun, udp, clock, config };
}

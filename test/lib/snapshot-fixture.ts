/** A hand-made snapshot for the pure formatters (metrics text, CLI tables). */
import type { ClientInfo, Snapshot } from "../../src/admin/snapshot.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

export const drops = (over: Record<string, number> = {}) => ({ spoofed: 0, "link-local": 0, isolated: 0, malformed: 0, "no-session": 0, "no-route": 0, "tun-write": 0, send: 0, ...over });

/** One client; `over` replaces fields. */
export function client(over: Partial<ClientInfo> = {}): ClientInfo {
  return {
    id: "phone1", serial: 1, deviceId: "phone1", user: null, protocol: "toyvpn", endpoint: "192.0.2.10:40001", address: "10.8.0.2", address6: null,
    connectedAt: NOW - 3_725_000, lastSeen: NOW - 2000, idle: false, rxPackets: 12, rxBytes: 1500, txPackets: 10, txBytes: 2_500_000,
    drops: drops(), capture: null, ...over,
  };
}

/** A server with the given clients. */
export function snapshot(clients: ClientInfo[] = [client()]): Snapshot {
  return {
    time: NOW,
    status: {
      version: "warren 0.1.0 (commit dev, built dev)", pid: 4242, startedAt: NOW - 90_061_000, uptimeSec: 90_061,
      listen: "[::]:8000", tun: "warren0", mtu: 1400, pool: { prefix: "10.8.0.0/24", total: 253, used: clients.length }, pool6: null,
      sessions: clients.length,
      totals: { rxPackets: 100, rxBytes: 64_000, txPackets: 90, txBytes: 3_000_000, hubPackets: 4, keepalives: 7, rehandshakeRequests: 1, junk: 2 },
      drops: drops({ "no-session": 3, spoofed: 1 }), handshakes: { ok: 5, rejected: 2, refused: 0, duplicate: 10, limited: 1, renewed: 3 }, rejections: { "bad-secret": 2, "rate-limited": 1 },
      settings: { logLevel: "info", idleTimeout: 180, isolate: false, maxClients: 0 },
      log: { file: null, size: null }, capture: { active: 0, droppedPackets: 0 }, controlSocket: "/run/warren/warren.sock", metrics: null,
    },
    clients,
  };
}

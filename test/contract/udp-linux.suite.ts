/**
 * @module test/contract/udp-linux.suite
 * The Transport and ClientTransport contract suites (transport.case.ts,
 * client-transport.case.ts) on the real Bun.udpSocket transports. Not a `*.test.ts`:
 * transport.contract.test.ts runs it as root with `ip netns exec <its namespace> bun test
 * udp-linux.suite.ts`, so every socket and datagram stays on the loopback of a namespace
 * the test created. Refuses to run in a namespace it was not started in.
 */

import { openClientUdp } from "../../src/transport/client-udp.ts";
import { openUdp } from "../../src/transport/udp.ts";
import { quietLogger } from "../lib/log.ts";
import { sleep } from "../lib/wait.ts";
import { type ClientTransportHarness, clientTransportContract } from "./client-transport.case.ts";
import { requireTestNetns } from "./netns-util.ts";
import { type TransportHarness, transportContract } from "./transport.case.ts";

const LOOPBACK = "127.0.0.1";

requireTestNetns();

/** A plain Bun socket on the loopback that records what it receives (and ignores ICMP errors). */
async function endpoint(): Promise<{ sock: Bun.udp.Socket<"uint8array">; got: Uint8Array[] }> {
  const got: Uint8Array[] = [];
  const sock = await Bun.udpSocket({
    hostname: LOOPBACK,
    port: 0,
    binaryType: "uint8array",
    socket: { data: (_s, d) => void got.push(d.slice()), error: () => {} },
  });
  return { sock, got };
}

async function openServerSide(): Promise<TransportHarness> {
  const transport = await openUdp(LOOPBACK, 0, quietLogger);
  const port = transport.local.port;
  const peer = await endpoint();
  return {
    transport,
    peer: { send: (d) => void peer.sock.send(d, port, LOOPBACK), received: () => peer.got },
    unsendable: { address: "::1", port: 9 }, // IPv6 from an IPv4 socket: EAFNOSUPPORT
    settle: () => sleep(100),
    async dispose() {
      peer.sock.close();
      transport.close();
    },
  };
}

async function openClientSide(): Promise<ClientTransportHarness> {
  const server = await endpoint();
  const transport = await openClientUdp({ address: LOOPBACK, family: 4, port: server.sock.port }, quietLogger);
  const clientPort = transport.local.port;
  return {
    transport,
    server: {
      send: (d) => void server.sock.send(d, clientPort, LOOPBACK),
      received: () => server.got,
      stop: () => server.sock.close(),
    },
    settle: () => sleep(100),
    async dispose() {
      server.sock.close();
      transport.close();
    },
  };
}

transportContract("UdpTransport", openServerSide);
clientTransportContract("ConnectedUdp", openClientSide);

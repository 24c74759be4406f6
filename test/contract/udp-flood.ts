/**
 * @module test/contract/udp-flood
 * Paced UDP sender for the TUN contract test, run inside the test namespace:
 * `bun udp-flood.ts HOST PORT COUNT BATCH`. Datagram `seq` carries a payload of
 * `payloadSize(seq)` bytes (60..1372): u32 seq, u32 length (big-endian), then
 * `(seq + i) & 0xff` at every byte i >= 8. Sends BATCH datagrams per millisecond tick,
 * stops after COUNT or 30 s, and prints `{"sent":N,"refused":M}` on stdout.
 */

/** Smallest payload sent. */
export const MIN_PAYLOAD = 60;
/** Largest payload sent: 1372 + 8 (UDP) + 20 (IPv4) = MTU 1400. */
export const MAX_PAYLOAD = 1372;
/** Bytes of the seq + length header inside the payload. */
export const PAYLOAD_HEADER = 8;

/** Payload length of datagram `seq`: spread over MIN..MAX, never periodic in a batch. */
export function payloadSize(seq: number): number {
  return MIN_PAYLOAD + ((seq * 7919) % (MAX_PAYLOAD - MIN_PAYLOAD + 1));
}

/** Fills `buf` (exactly payloadSize(seq) bytes) with datagram `seq`'s payload. */
export function fillPayload(buf: Uint8Array, seq: number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setUint32(0, seq);
  view.setUint32(4, buf.byteLength);
  for (let i = PAYLOAD_HEADER; i < buf.byteLength; i++) buf[i] = (seq + i) & 0xff;
}

async function main(): Promise<void> {
  const [host = "", portText = "", countText = "", batchText = "50"] = process.argv.slice(2);
  const port = Number(portText);
  const count = Number(countText);
  const batch = Number(batchText);
  const socket = await Bun.udpSocket({});
  const deadline = performance.now() + 30_000;
  let sent = 0;
  let refused = 0;
  for (let seq = 0; seq < count && performance.now() < deadline; ) {
    for (let i = 0; i < batch && seq < count; i++, seq++) {
      const payload = new Uint8Array(payloadSize(seq));
      fillPayload(payload, seq);
      try {
        if (socket.send(payload, port, host)) sent++;
        else refused++;
      } catch {
        refused++;
      }
    }
    await Bun.sleep(1);
  }
  socket.close();
  console.log(JSON.stringify({ sent, refused }));
}

if (import.meta.main) await main();

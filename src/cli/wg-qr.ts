/**
 * @module cli/wg-qr
 * A client config as a QR code in the terminal, for the WireGuard mobile apps to scan
 * (what `qrencode -t ansiutf8 < client.conf` shows). uqr builds the module matrix; this
 * file draws two module rows per text line with half blocks (`▀ ▄ █`, space).
 *
 * Colours are set explicitly, black background and bright white foreground, and the
 * *light* modules are the ones drawn, so the code reads dark-on-light to a camera
 * whatever the terminal's own colours are. The quiet zone is the 4 modules the standard
 * asks for. Error correction L, as qrencode's default: a client config of ~350 bytes
 * then fits version 12 (65 modules, 73 columns with the quiet zone).
 */

import { encode } from "uqr";

/** Light modules around the symbol (ISO/IEC 18004 quiet zone). */
export const QR_QUIET_ZONE = 4;

const ANSI_START = "\x1b[40;97m";
const ANSI_END = "\x1b[0m";

/** A QR symbol: `dark[y][x]` without the quiet zone, and its version (size = 4 * version + 17). */
export interface QrMatrix {
  version: number;
  size: number;
  dark: boolean[][];
}

/** Encodes text (UTF-8, byte mode as needed) with error correction L. */
export function qrMatrix(text: string): QrMatrix {
  const r = encode(text, { ecc: "L", border: 0 });
  return { version: r.version, size: r.size, dark: r.data };
}

/** The matrix as terminal lines: half blocks for light modules, explicit colours, quiet zone included. */
export function renderQr(m: QrMatrix, colours = true): string {
  const total = m.size + 2 * QR_QUIET_ZONE;
  const light = (x: number, y: number): boolean => {
    const mx = x - QR_QUIET_ZONE;
    const my = y - QR_QUIET_ZONE;
    if (y >= total) return false; // below the symbol's last row: terminal background
    if (mx < 0 || my < 0 || mx >= m.size || my >= m.size) return true;
    return !(m.dark[my]?.[mx] ?? false);
  };
  const lines: string[] = [];
  for (let y = 0; y < total; y += 2) {
    let line = "";
    for (let x = 0; x < total; x++) {
      const top = light(x, y);
      const bottom = light(x, y + 1);
      line += top ? (bottom ? "█" : "▀") : bottom ? "▄" : " ";
    }
    lines.push(colours ? ANSI_START + line + ANSI_END : line);
  }
  return `${lines.join("\n")}\n`;
}

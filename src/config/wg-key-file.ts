/**
 * @module config/wg-key-file
 * The server's WireGuard private key file (`wg.keyFile`): one base64 key, as
 * `wg genkey > FILE` writes it, so keys move between warren and wg. A missing file is
 * created with a new key, mode 0600, with O_EXCL (two starts at once cannot write two
 * different keys: the loser reads the winner's). The key is never logged.
 */

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { generatePrivateKey, keyFromBase64, keyToBase64 } from "../crypto/x25519.ts";
import { ConfigError, errorCode } from "../lib/errors.ts";

/** A loaded key and how it was found. */
export interface LoadedKey {
  privateKey: Uint8Array;
  /** True when this call wrote the file. */
  created: boolean;
  /** True when group or others may read the file (wg warns about that too). */
  readableByOthers: boolean;
}

/** Reads a key file; throws ConfigError naming the file when it is missing or holds no key. */
export function readKeyFile(path: string): LoadedKey {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError("", `cannot read WireGuard key file ${path}: ${errorCode(e) ?? "error"}`);
  }
  const privateKey = keyFromBase64(text.trim());
  if (privateKey === null) throw new ConfigError("", `${path} does not hold a WireGuard private key (44 characters of base64, as wg genkey writes)`);
  return { privateKey, created: false, readableByOthers: (statSync(path).mode & 0o077) !== 0 };
}

/** Reads the key file, first creating it (and its folder, mode 0700) with a new key when it is missing. */
export function loadOrCreateKeyFile(path: string): LoadedKey {
  const privateKey = generatePrivateKey();
  let fd = -1;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, "wx", 0o600);
  } catch (e) {
    const code = errorCode(e);
    if (code === "EEXIST") return readKeyFile(path);
    throw new ConfigError("", `cannot create WireGuard key file ${path}: ${code ?? "error"}`);
  }
  try {
    writeSync(fd, `${keyToBase64(privateKey)}\n`);
    fsyncSync(fd);
  } catch (e) {
    rmSync(path, { force: true }); // never leave half a key behind
    throw new ConfigError("", `cannot write WireGuard key file ${path}: ${errorCode(e) ?? "error"}`);
  } finally {
    closeSync(fd);
  }
  return { privateKey, created: true, readableByOthers: false };
}

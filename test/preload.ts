/**
 * Test preload: a generous default timeout (a loaded 2-core machine runs the
 * namespace tests) and one loud line when the root-only tests will be skipped.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(60_000);

if (process.getuid?.() !== 0) {
  console.warn("warren tests: not root — end-to-end and contract tests (network namespaces, real TUN) will be SKIPPED");
}

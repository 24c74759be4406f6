/**
 * @module platform/linux/proc-self
 * This process's resource use, for the standard Prometheus `process_*` metrics: CPU
 * time and resident memory from the runtime, open file descriptors from /proc/self/fd,
 * and their limit from /proc/self/limits. A value that cannot be read is null (the
 * metric is then left out), never an exception.
 */

import { readdirSync, readFileSync } from "node:fs";

/** What the process_* metrics report. */
export interface ProcessStats {
  /** User + system CPU time, seconds. */
  cpuSeconds: number;
  residentBytes: number;
  openFds: number | null;
  /** Soft limit of open files (RLIMIT_NOFILE), null when unlimited or unknown. */
  maxFds: number | null;
}

/** The "Max open files" soft limit in the text of /proc/self/limits; null when absent or unlimited. */
export function parseMaxOpenFiles(limits: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (m === null || m[1] === "unlimited") return null;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : null;
}

/** Reads the stats now. */
export function readProcessStats(): ProcessStats {
  const cpu = process.cpuUsage();
  let openFds: number | null = null;
  try {
    openFds = readdirSync("/proc/self/fd").length - 1; // less the fd readdir itself holds
  } catch {
    /* no /proc */
  }
  let maxFds: number | null = null;
  try {
    maxFds = parseMaxOpenFiles(readFileSync("/proc/self/limits", "utf8"));
  } catch {
    /* no /proc */
  }
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss(), openFds, maxFds };
}

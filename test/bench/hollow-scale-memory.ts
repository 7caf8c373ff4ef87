// Resident memory of a process as the kernel counts it (/proc/<pid>/status): VmRSS now and VmHWM,
// the peak RSS since the process started. Linux only, which is where the benchmark runs.
import { readFileSync } from 'node:fs';

export interface ProcessMemory {
  pid: number;
  rssBytes: number;
  /** The high-water mark of RSS over the process's life. */
  peakRssBytes: number;
}

function field(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (match === null) throw new Error(`/proc status has no ${name} line`);
  return Number(match[1]) * 1024;
}

/** The memory of `pid`; throws if the process is gone. */
export function processMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { pid, rssBytes: field(status, 'VmRSS'), peakRssBytes: field(status, 'VmHWM') };
}

export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

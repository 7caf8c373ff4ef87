// The messages between the scale benchmark's driver and its hollow workers' process, over the
// Node IPC channel of child_process.fork. One request at a time; every request gets one answer.

/** What the workers' process is told at start (JSON in the HOLLOW_SCALE_WORKERS environment variable). */
export interface HollowWorkersConfig {
  /** How many hollow nodes to join and run. */
  count: number;
  /** Manager addresses (host:port): node i joins through, and first opens its session to, manager i mod n. */
  managers: string[];
  /** A worker join token of the cluster. */
  joinToken: string;
  /** Concurrent joins (key pair, CSR, CA signature, Node write through Raft). */
  joinConcurrency: number;
  /** Agent status report batching (ms). */
  statusBatchDelayMs: number;
  /** pino level of the workers' own log (stderr); default warn. */
  logLevel?: string;
}

export type DriverRequest =
  /** Stop `count` agents abruptly: sessions cancelled with no goodbye, their containers gone. */
  | { type: 'kill'; count: number }
  /** Memory of the workers' process. */
  | { type: 'stats' }
  /** Close every agent and exit. */
  | { type: 'close' };

export interface WorkersMemory {
  rssBytes: number;
  peakRssBytes: number;
  heapUsedBytes: number;
}

export type WorkersMessage =
  /** Every node joined and its agent started (sessions may still be opening). */
  | { type: 'started'; nodeIds: string[]; joinMs: number; joinRetries: number }
  | { type: 'killed'; nodeIds: string[] }
  | ({ type: 'stats' } & WorkersMemory)
  | { type: 'closed' }
  /** Fatal: the process exits after sending it. */
  | { type: 'error'; message: string };

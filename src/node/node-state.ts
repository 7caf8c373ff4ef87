// The node's identity and settings file (<data-dir>/node.json): who this node is, in which cluster,
// with which role and addresses, and which managers it knows. Written atomically (temp file +
// rename, mode 0600) so a crash never leaves half a file; `orch daemon` restarts from it.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FastPathMode } from '../mesh/nft-fast-path';

export type NodeRoleName = 'manager' | 'worker';
export type ExecutorKind = 'docker' | 'hollow';
export type MeshLoadBalancing = 'round-robin' | 'least-connections';
export type MeshFastPathMode = FastPathMode;

/**
 * How the daemon runs, from the flags of `orch init`/`join`/`daemon` (the last given wins and is
 * kept here, so a plain `orch daemon` restarts the node the same way). Absent fields: defaults.
 */
export interface DaemonSettings {
  /** Runs the tasks: `docker` (default) or `hollow` (simulated containers). */
  executor?: ExecutorKind;
  /** Where the routing mesh listens and ingress ports are bound; default: the advertise host. */
  meshAddr?: string;
  /** The mesh's load balancing for every service on this node; default round-robin. */
  meshLb?: MeshLoadBalancing;
  /**
   * The mesh's kernel fast path: `auto` (default: nftables routes round-robin services when root
   * and nft allow), `on` (the daemon refuses to start without it) or `off`.
   */
  meshFastPath?: MeshFastPathMode;
  /** Processes serving the mesh's TCP ports (0: the daemon itself); default 'auto', one per core. */
  meshWorkers?: number | 'auto';
  /** host:port of the Prometheus endpoint (/metrics); absent: none. */
  metricsAddr?: string;
  /**
   * The node's name in the cluster (`node ls` HOSTNAME, `service ps` NODE, `node.hostname`
   * constraints); absent: the machine's hostname. Nodes sharing a machine need one each.
   */
  hostname?: string;
}
export type Availability = 'active' | 'pause' | 'drain';

export interface NodeState {
  /** Format version of this file. */
  version: 1;
  nodeId: string;
  clusterId: string;
  /** The role this node runs as now (its certificate's role). */
  role: NodeRoleName;
  /** host:port the node's gRPC server binds. */
  listenAddr: string;
  /** host:port other nodes reach it at. */
  advertiseAddr: string;
  /** Node addresses of managers this node knows (join address first); used to renew and rejoin. */
  managers: string[];
  /** True on the node that ran `orch init`: it bootstraps Raft instead of waiting to be added. */
  initializedCluster: boolean;
  /** Availability asked for at join (`--availability`); the CA applies it when it creates the Node at join. */
  availability: Availability;
  raft: { tickMs: number; electionTicks: number; heartbeatTicks: number };
  /** Daemon settings (absent in files written before they existed). */
  settings?: DaemonSettings;
}

export class NodeStateError extends Error {
  override name = 'NodeStateError';
}

export async function readNodeState(file: string): Promise<NodeState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: NodeState;
  try {
    parsed = JSON.parse(text) as NodeState;
  } catch (err) {
    throw new NodeStateError(`${file} is not valid JSON; the data dir is damaged`, { cause: err });
  }
  if (parsed.version !== 1 || typeof parsed.nodeId !== 'string' || typeof parsed.listenAddr !== 'string') {
    throw new NodeStateError(`${file} is not an orch node state file (version ${String(parsed.version)})`);
  }
  return parsed;
}

/** Atomic write with mode 0600: never a half-written file after a crash. */
export async function writeFileAtomic(file: string, contents: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(temp, contents, { mode: 0o600 });
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

export async function writeNodeState(file: string, state: NodeState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

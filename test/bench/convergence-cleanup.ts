// Everything the convergence benchmark creates outside its own process, written down in a state file
// *before* it is created, and the one idempotent cleanup that removes exactly that: the orch daemons
// (by PID, after checking the PID still runs a daemon of our data dir), their containers (by the
// node-ID label), their temp dir; the containers of the engine-alone measurement (by its run
// label); the Swarm services (by ID) and, only when this run initialized
// it, the swarm itself (`docker swarm leave --force`) and the docker_gwbridge network swarm init
// made. The driver calls cleanUp() when it ends or is interrupted; convergence.sh runs this file
// on exit as well, so a driver killed with SIGKILL still leaves nothing behind.
//
//   node -r ./test/support/ts-hook.cjs test/bench/convergence-cleanup.ts STATE_FILE
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

export const ORCH_NODE_LABEL = 'orch.node.id';
export const SWARM_SERVICE_LABEL = 'com.docker.swarm.service.id';
/** On every container the engine-alone measurement (convergence-direct.ts) creates in one run. */
export const DIRECT_RUN_LABEL = 'orch.bench.convergence.run';

export interface OrchState {
  /** Temp dir holding every node's data dir. */
  root: string;
  /** Data dirs of the nodes, each with the daemon's PID once it started. */
  nodes: { dataDir: string; pid?: number; nodeId?: string }[];
}

export interface SwarmState {
  /** Set just before `docker swarm init`: only then may cleanup leave the swarm. */
  initialized: boolean;
  /** Whether docker_gwbridge existed before the init (swarm init creates it otherwise). */
  gwbridgeExisted: boolean;
  services: string[];
}

export interface BenchStateData {
  orch?: OrchState;
  swarm?: SwarmState;
  /** The run label on the containers the engine-alone measurement creates directly. */
  directRunId?: string;
}

/** The state file: every change is written through at once, so a crash leaves an accurate record. */
export class BenchState {
  private data: BenchStateData;

  constructor(readonly file: string) {
    this.data = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as BenchStateData) : {};
  }

  get current(): Readonly<BenchStateData> {
    return this.data;
  }

  /** Deletes the file (after a complete cleanup). */
  remove(): void {
    rmSync(this.file, { force: true });
  }

  update(change: (data: BenchStateData) => void): void {
    change(this.data);
    writeFileSync(this.file, `${JSON.stringify(this.data, null, 2)}\n`);
  }
}

export type Say = (line: string) => void;

/** Removes everything the state names; safe to call twice and on a partial state. */
export async function cleanUp(state: BenchState, say: Say): Promise<void> {
  const docker = new Docker();
  const { swarm, orch, directRunId } = state.current;
  if (swarm) await cleanUpSwarm(docker, swarm, say);
  if (orch) await cleanUpOrch(docker, orch, say);
  if (directRunId) await removeLabelled(docker, DIRECT_RUN_LABEL, directRunId, say);
  state.update((data) => {
    delete data.swarm;
    delete data.orch;
    delete data.directRunId;
  });
}

async function cleanUpSwarm(docker: Docker, swarm: SwarmState, say: Say): Promise<void> {
  for (const id of swarm.services) {
    try {
      await docker.getService(id).remove();
    } catch (err) {
      if (statusCode(err) !== 404 && statusCode(err) !== 503)
        say(`swarm: removing service ${id}: ${message(err)}`);
    }
  }
  if (swarm.initialized) {
    try {
      await run('docker', ['swarm', 'leave', '--force']);
      say('swarm: left the swarm this run created');
    } catch (err) {
      if (!/not part of a swarm/i.test(message(err))) say(`swarm: leave failed: ${message(err)}`);
    }
  }
  // Leaving stops the swarm's tasks; their containers may outlive it for a moment.
  for (const id of swarm.services) await removeLabelled(docker, SWARM_SERVICE_LABEL, id, say);
  if (swarm.initialized && !swarm.gwbridgeExisted) {
    try {
      await docker.getNetwork('docker_gwbridge').remove();
    } catch (err) {
      if (statusCode(err) !== 404) say(`swarm: removing docker_gwbridge: ${message(err)}`);
    }
  }
}

async function cleanUpOrch(docker: Docker, orch: OrchState, say: Say): Promise<void> {
  for (const node of orch.nodes) {
    if (node.pid !== undefined && runsDaemonOf(node.pid, node.dataDir)) await stopProcess(node.pid);
  }
  for (const node of orch.nodes) {
    if (node.nodeId) await removeLabelled(docker, ORCH_NODE_LABEL, node.nodeId, say);
  }
  rmSync(orch.root, { recursive: true, force: true });
}

/** True when `pid` is alive and its command line names `dataDir` (not a recycled PID). */
function runsDaemonOf(pid: number, dataDir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(dataDir);
  } catch {
    return false;
  }
}

/** SIGTERM, up to 5 s to exit, then SIGKILL. */
async function stopProcess(pid: number): Promise<void> {
  if (!signal(pid, 'SIGTERM')) return;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    if (!signal(pid, 0)) return;
  }
  signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function removeLabelled(docker: Docker, label: string, value: string, say: Say): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${label}=${value}`] } });
  for (const c of containers) {
    try {
      await docker.getContainer(c.Id).remove({ force: true });
    } catch (err) {
      if (statusCode(err) !== 404) say(`removing container ${c.Id.slice(0, 12)}: ${message(err)}`);
    }
  }
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

function message(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim();
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: convergence-cleanup.ts STATE_FILE');
    process.exit(2);
  }
  if (existsSync(file)) {
    cleanUp(new BenchState(file), (line) => console.error(`cleanup: ${line}`)).catch((err) => {
      console.error(`cleanup: ${message(err)}`);
      process.exitCode = 1;
    });
  }
}

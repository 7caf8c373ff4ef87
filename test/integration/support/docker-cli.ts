// The `docker` command line for multi-process tests: what a user would type to look at (and break)
// the containers orch runs, e.g. `docker ps --filter label=orch.service.id=…` or `docker rm -f`.
// Only ever aimed at containers the test's own nodes labelled.
import { execFile } from 'node:child_process';
import { nftTableName } from '../../../src/mesh/nft-fast-path';
import { vipTableName } from '../../../src/network/vip-nftables';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker ARGS` to completion (never throws on a non-zero exit). */
export function docker(args: readonly string[], timeoutMs = 30_000): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `docker ARGS` and throws with docker's stderr when it fails. */
export async function dockerOk(args: readonly string[]): Promise<string> {
  const result = await docker(args);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** IDs of the containers (running or not) carrying every label given as `key=value`. */
export async function containersWithLabels(labels: readonly string[], all = true): Promise<string[]> {
  const filters = labels.flatMap((label) => ['--filter', `label=${label}`]);
  const out = await dockerOk(['ps', ...(all ? ['-a'] : []), '-q', '--no-trunc', ...filters]);
  return out.split('\n').filter((line) => line.trim() !== '');
}

/** Force-removes every container labelled `orch.node.id=<id>` for the given node IDs. */
export async function removeNodeContainers(nodeIds: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const nodeId of nodeIds) {
    const ids = await containersWithLabels([`orch.node.id=${nodeId}`]);
    if (ids.length === 0) continue;
    await docker(['rm', '-f', '-v', ...ids], 60_000);
    removed += ids.length;
  }
  return removed;
}

/**
 * Removes what killed nodes leave outside their data dirs besides containers: their engine networks
 * (labelled `orch.node.id=<id>`) and their nftables VIP table (a SIGKILLed daemon cannot delete it).
 */
export async function removeNodeNetworking(nodeIds: Iterable<string>): Promise<void> {
  for (const nodeId of nodeIds) {
    const networks = (await dockerOk(['network', 'ls', '-q', '--filter', `label=orch.node.id=${nodeId}`]))
      .split('\n')
      .filter((line) => line.trim() !== '');
    if (networks.length > 0) await docker(['network', 'rm', ...networks]);
    await deleteNftTable(vipTableName(nodeId));
  }
}

/** Removes the routing mesh's nftables table (kernel fast path) of each killed node's mesh address. */
export async function removeMeshTables(meshAddresses: Iterable<string>): Promise<void> {
  for (const address of meshAddresses) await deleteNftTable(nftTableName(address));
}

/** `nft delete table ip NAME`; a table that is not there (or no nft: not root) is no error. */
function deleteNftTable(name: string): Promise<void> {
  return new Promise((resolve) => execFile('nft', ['delete', 'table', 'ip', name], () => resolve()));
}

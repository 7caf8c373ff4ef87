// The new cluster's first store objects, handed from `orch init` to the daemon it starts: the
// Cluster object (root CA key included) and the first manager's Node. The file exists only until
// the first manager has committed them through Raft, then it is deleted.
import { readFile, rm } from 'node:fs/promises';
import type { ClusterInput, NodeInput } from '../store';
import { writeFileAtomic } from './node-state';

export interface BootstrapObjects {
  cluster: ClusterInput;
  node: NodeInput;
}

export async function writeBootstrap(file: string, objects: BootstrapObjects): Promise<void> {
  const cluster = {
    ...objects.cluster,
    rootCaKeyPem: Buffer.from(objects.cluster.rootCaKeyPem as Uint8Array).toString(),
  };
  await writeFileAtomic(file, JSON.stringify({ cluster, node: objects.node }));
}

export async function readBootstrap(file: string): Promise<BootstrapObjects | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as { cluster: ClusterInput & { rootCaKeyPem: string }; node: NodeInput };
  return {
    cluster: { ...parsed.cluster, rootCaKeyPem: Buffer.from(parsed.cluster.rootCaKeyPem) },
    node: parsed.node,
  };
}

export async function removeBootstrap(file: string): Promise<void> {
  await rm(file, { force: true });
}

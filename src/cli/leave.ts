// `orch leave [--force]`: this node leaves the cluster. The daemon stops and erases the node's
// cluster state (node file, certificates, Raft data). A manager must be demoted first (unless
// --force) because leaving as a voter costs the remaining managers part of their quorum.
import type { Command } from 'commander';
import { dataDirLayout } from '../node/data-dir';
import { AdminClient, DaemonNotRunningError } from '../node/node-admin';
import { processAlive, readPid } from '../node/node-pid-file';
import { readNodeState } from '../node/node-state';
import { withUserErrors } from './cluster/cluster-errors';
import { addDataDirOption, dataDirFrom } from './cluster/flags';
import { UserError } from './errors';
import { eraseNode } from './init';

async function leave(options: { force?: boolean; dataDir?: string }): Promise<void> {
  const dataDir = dataDirFrom(options);
  const layout = dataDirLayout(dataDir);
  if (!(await readNodeState(layout.nodeStateFile))) {
    throw new UserError(`this node is not part of a cluster (data dir ${dataDir})`);
  }
  const client = new AdminClient(layout.controlSocket);
  const pid = await readPid(layout.pidFile);
  try {
    await client.leave({ force: options.force === true });
  } catch (err) {
    if (!(err instanceof DaemonNotRunningError)) throw err;
    if (!options.force) {
      throw new UserError(
        `the node daemon is not running (data dir ${dataDir}); start it (orch daemon) or use --force to erase the node's state`,
      );
    }
    await eraseNode(layout);
    process.stdout.write('Node left the swarm.\n');
    return;
  } finally {
    client.close();
  }
  // The daemon erases the state and exits; wait for it so a following init/join starts clean.
  const deadline = Date.now() + 30_000;
  while (pid !== undefined && processAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stdout.write('Node left the swarm.\n');
}

export function registerLeaveCommand(program: Command): void {
  addDataDirOption(
    program
      .command('leave')
      .description('Make this node leave the cluster')
      .option('-f, --force', 'leave even as a manager (the cluster may lose quorum)'),
  ).action((options: { force?: boolean; dataDir?: string }) => withUserErrors(() => leave(options)));
}

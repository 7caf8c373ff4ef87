// `orch info`: what this node knows of itself and of the cluster (cluster and node IDs, role,
// leader, managers and how many are reachable, node and task counts) and how its daemon runs
// (executor, routing mesh, metrics endpoint), from the local daemon.
import type { Command } from 'commander';
import { dataDirLayout } from '../node/data-dir';
import { AdminClient, type NodeInfoReport } from '../node/node-admin';
import { withUserErrors } from './cluster/cluster-errors';
import { addDataDirOption, dataDirFrom } from './cluster/flags';
import { UserError } from './errors';

export function formatInfo(info: NodeInfoReport): string {
  const lines = [
    `Cluster ID: ${info.clusterId}`,
    `Node ID: ${info.nodeId}`,
    `Node Address: ${info.advertiseAddr}`,
    `Role: ${info.role}`,
  ];
  if (info.cluster) {
    lines.push(
      `Is Leader: ${info.isLeader}`,
      `Leader: ${info.leaderId || '(none)'}${info.cluster.leaderAddr ? ` (${info.cluster.leaderAddr})` : ''}`,
      `Managers: ${info.cluster.managers} (${info.cluster.reachableManagers} reachable)`,
      `Nodes: ${info.cluster.nodes}`,
      `Tasks: ${info.cluster.tasks}`,
      `Raft: term ${info.cluster.raftTerm}, ${info.raftMembership}`,
    );
  }
  lines.push(
    `Executor: ${info.executor}`,
    `Routing Mesh: ${info.meshAddr || '(off)'} (${info.meshLb}, ${meshWorkersText(info.meshWorkers)}, ${info.meshServices} published services)`,
    `Kernel Fast Path: ${info.meshFastPath}`,
    `Metrics: ${info.metricsAddr ? `http://${info.metricsAddr}/metrics` : '(off)'}`,
    `State: ${info.state}`,
    `Data Dir: ${info.dataDir}`,
    `PID: ${info.pid}`,
  );
  return `${lines.join('\n')}\n`;
}

/** `2 mesh workers`, or `in the daemon` when the daemon serves the ports itself. */
function meshWorkersText(workers: number): string {
  if (workers === 0) return 'TCP in the daemon';
  return `${workers} mesh worker${workers === 1 ? '' : 's'}`;
}

async function info(options: { dataDir?: string; format?: string }): Promise<void> {
  if (options.format !== undefined && options.format !== 'json' && options.format !== 'text') {
    throw new UserError(`--format: ${JSON.stringify(options.format)} is not one of text, json`);
  }
  const client = new AdminClient(dataDirLayout(dataDirFrom(options)).controlSocket);
  try {
    const report = await client.info();
    process.stdout.write(
      options.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatInfo(report),
    );
  } finally {
    client.close();
  }
}

export function registerInfoCommand(program: Command): void {
  addDataDirOption(
    program
      .command('info')
      .description('Show this node and its cluster')
      .option('--format <format>', 'text or json', 'text'),
  ).action((options: { dataDir?: string; format?: string }) => withUserErrors(() => info(options)));
}

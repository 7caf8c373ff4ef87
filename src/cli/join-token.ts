// `orch join-token worker|manager [--rotate] [-q]`: prints (or rotates) a join token, as
// `docker swarm join-token` does. Any manager answers: the secrets live in the replicated store.
import type { Command } from 'commander';
import { dataDirLayout } from '../node/data-dir';
import { AdminClient } from '../node/node-admin';
import { withUserErrors } from './cluster/cluster-errors';
import { addDataDirOption, dataDirFrom } from './cluster/flags';
import { UserError } from './errors';

interface JoinTokenOptions {
  rotate?: boolean;
  quiet?: boolean;
  dataDir?: string;
}

async function joinToken(role: string, options: JoinTokenOptions): Promise<void> {
  if (role !== 'worker' && role !== 'manager') {
    throw new UserError(`unknown role ${JSON.stringify(role)}: expected worker or manager`);
  }
  const client = new AdminClient(dataDirLayout(dataDirFrom(options)).controlSocket);
  try {
    const { token } = await client.joinToken({ role, rotate: options.rotate === true });
    if (options.quiet) {
      process.stdout.write(`${token}\n`);
      return;
    }
    const info = await client.info();
    const address = info.cluster?.leaderAddr || info.advertiseAddr;
    if (options.rotate) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
    process.stdout.write(
      `To add a ${role} to this swarm, run the following command:\n\n    orch join --token ${token} ${info.advertiseAddr || address}\n\n`,
    );
  } finally {
    client.close();
  }
}

export function registerJoinTokenCommand(program: Command): void {
  addDataDirOption(
    program
      .command('join-token')
      .description('Print or rotate the join token for workers or managers')
      .argument('<role>', 'worker or manager')
      .option('--rotate', 'replace the token: the old one stops working')
      .option('-q, --quiet', 'print the token only'),
  ).action((role: string, options: JoinTokenOptions) => withUserErrors(() => joinToken(role, options)));
}

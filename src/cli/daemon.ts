// `orch daemon`: runs this node from its data dir in the foreground (what `orch init`/`orch join`
// start detached, what systemd runs, and how a node comes back after a reboot or a crash). It
// returns when the daemon stops: SIGTERM/SIGINT, or `orch leave`.
import type { Command } from 'commander';
import { createLogger } from '../common/logger';
import { NodeDaemon } from '../node/node-daemon';
import { withUserErrors } from './cluster/cluster-errors';
import { addDataDirOption, dataDirFrom } from './cluster/flags';

/** Starts the daemon in this process; `onReady` runs once it serves. Resolves when it stopped. */
export async function runDaemonInForeground(
  dataDir: string,
  options: { logFile?: string; onStarted?: (daemon: NodeDaemon) => Promise<void> | void } = {},
): Promise<void> {
  const logger = createLogger({ destination: options.logFile });
  const daemon = await NodeDaemon.start({ dataDir, logger });
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping');
    void daemon.close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    await options.onStarted?.(daemon);
    await daemon.done;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    logger.flush();
  }
}

export function registerDaemonCommand(program: Command): void {
  addDataDirOption(
    program
      .command('daemon')
      .description('Run this node (manager or worker) from its data dir in the foreground')
      .option('--log-file <file>', 'append the log to this file instead of stderr'),
  ).action((options: { dataDir?: string; logFile?: string }) =>
    withUserErrors(() => runDaemonInForeground(dataDirFrom(options), { logFile: options.logFile })),
  );
}

// `orch daemon`: runs this node from its data dir in the foreground (what `orch init`/`orch join`
// start detached, what systemd runs, and how a node comes back after a reboot or a crash). It
// returns when the daemon stops: SIGTERM/SIGINT, or `orch leave`. Settings flags given here
// (--executor, --mesh-*, --metrics-addr) replace the node's kept ones, from this start on.
import type { Command } from 'commander';
import { createLogger } from '../common/logger';
import { dataDirLayout } from '../node/data-dir';
import { NodeDaemon } from '../node/node-daemon';
import { DaemonAlreadyRunningError, processAlive, readPid } from '../node/node-pid-file';
import { readNodeState, writeNodeState } from '../node/node-state';
import { withUserErrors } from './cluster/cluster-errors';
import {
  addDaemonSettingsOptions,
  addDataDirOption,
  type DaemonSettingsOptions,
  daemonSettingsFrom,
  dataDirFrom,
} from './cluster/flags';

/** Starts the daemon in this process; `onReady` runs once it serves. Resolves when it stopped. */
export async function runDaemonInForeground(
  dataDir: string,
  options: { logFile?: string; onStarted?: (daemon: NodeDaemon) => Promise<void> | void } = {},
): Promise<void> {
  const logger = createLogger({ destination: options.logFile });
  const daemon = await NodeDaemon.start({ dataDir, logger, logFile: options.logFile });
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

/**
 * Keeps the settings flags given to `orch daemon` in the node state (nothing to do without a node).
 * A start that will be refused because a daemon already runs on the data dir changes nothing.
 */
export async function applySettingsFlags(dataDir: string, options: DaemonSettingsOptions): Promise<void> {
  const given = Object.values(options).some((v) => v !== undefined);
  if (!given) return;
  const layout = dataDirLayout(dataDir);
  const running = await readPid(layout.pidFile);
  if (running !== undefined && running !== process.pid && processAlive(running)) {
    throw new DaemonAlreadyRunningError(running, layout.root);
  }
  const state = await readNodeState(layout.nodeStateFile);
  if (!state) return; // NodeDaemon.start says what is wrong
  await writeNodeState(layout.nodeStateFile, {
    ...state,
    settings: daemonSettingsFrom(options, state.settings),
  });
}

export function registerDaemonCommand(program: Command): void {
  addDaemonSettingsOptions(
    addDataDirOption(
      program
        .command('daemon')
        .description('Run this node (manager or worker) from its data dir in the foreground')
        .option('--log-file <file>', 'append the log to this file instead of stderr'),
    ),
  ).action((options: DaemonSettingsOptions & { dataDir?: string; logFile?: string }) =>
    withUserErrors(async () => {
      const dataDir = dataDirFrom(options);
      const { dataDir: _dir, logFile, ...settings } = options;
      await applySettingsFlags(dataDir, settings);
      await runDaemonInForeground(dataDir, { logFile });
    }),
  );
}

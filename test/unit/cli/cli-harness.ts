// Runs `orch node …` / `orch service …` in-process against a test Control API: parse → call →
// output, with stdout and stderr captured and errors printed the way runCli prints them.
import { Command, CommanderError } from 'commander';
import { ControlApiClient } from '../../../src/cli/control-client';
import { UserError } from '../../../src/cli/errors';
import type { CliContext } from '../../../src/cli/flags';
import { registerNodeCommands } from '../../../src/cli/node';
import { registerServiceCommands } from '../../../src/cli/service';
import type { ControlFixture } from '../controlapi/control-fixture';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type RunCli = (...args: string[]) => Promise<CliResult>;

export function cliRunner(fixture: ControlFixture, overrides: Partial<CliContext> = {}): RunCli {
  return async (...args) => {
    let stdout = '';
    let stderr = '';
    const ctx: CliContext = {
      out: (text) => {
        stdout += text;
      },
      err: (text) => {
        stderr += text;
      },
      isTTY: false,
      now: () => fixture.nowMs(),
      connect: (dataDir) => new ControlApiClient({ dataDir: dataDir ?? fixture.dir, timeoutMs: 10_000 }),
      progressPollMs: 5,
      progressVerifyMs: 0,
      progressPendingLimitMs: 50,
      ...overrides,
    };
    const program = new Command('orch').exitOverride();
    program.configureOutput({
      writeOut: (s) => {
        stdout += s;
      },
      writeErr: (s) => {
        stderr += s;
      },
    });
    registerNodeCommands(program, ctx);
    registerServiceCommands(program, ctx);
    // Subcommands inherit exitOverride and the output configuration from the program.
    try {
      await program.parseAsync(['node', 'orch', ...args]);
      return { code: 0, stdout, stderr };
    } catch (err) {
      if (err instanceof CommanderError) return { code: err.exitCode || 2, stdout, stderr };
      if (err instanceof UserError)
        return { code: err.exitCode, stdout, stderr: `${stderr}orch: ${err.message}\n` };
      throw err;
    }
  };
}

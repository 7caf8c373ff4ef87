#!/usr/bin/env node
// The `orch` binary: parses argv and hands over to src/cli. Nothing else belongs here.
import { exitQuietlyOnBrokenPipe, runCli } from '../src/cli/program';

// A command piped into `head` ends quietly; the daemon does not (a supervisor must see it fail).
if (process.argv.slice(2).find((arg) => !arg.startsWith('-')) !== 'daemon') {
  exitQuietlyOnBrokenPipe(process.stdout);
}

runCli(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `orch: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 70;
  },
);

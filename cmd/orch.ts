#!/usr/bin/env node
// The `orch` binary: parses argv and hands over to src/cli. Nothing else belongs here.
import { runCli } from '../src/cli/program';

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

#!/usr/bin/env node
// Makes the built entry points executable (tsc keeps the shebang but not the mode).
import { chmodSync, existsSync } from 'node:fs';

for (const file of ['dist/cmd/orch.js']) {
  if (existsSync(file)) chmodSync(file, 0o755);
}

// Temporary directories that are always removed (call removeAll in afterEach/afterAll).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class TempDirs {
  private readonly dirs: string[] = [];

  /** A new empty directory under the system temp dir. */
  make(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), `orch-${prefix}-`));
    this.dirs.push(dir);
    return dir;
  }

  removeAll(): void {
    for (const dir of this.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

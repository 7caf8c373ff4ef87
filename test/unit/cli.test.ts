import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const top = join(__dirname, '../..');
const bin = join(top, 'dist/cmd/orch.js');
const orch = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('orch binary', () => {
  it('prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(top, 'package.json'), 'utf8'));
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });

  it('lists every command group in --help', () => {
    const out = orch('--help');
    expect(out.status).toBe(0);
    for (const group of ['init', 'join', 'leave', 'node', 'service', 'stack', 'secret', 'config']) {
      expect(out.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    }
  });

  it('rejects an unknown command in one line with a non-zero exit', () => {
    const out = orch('frobnicate');
    expect(out.status).not.toBe(0);
    expect(out.stderr).toContain("unknown command 'frobnicate'");
    expect(out.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('command groups', () => {
  it.each(['init', 'join', 'leave', 'node', 'service', 'stack', 'secret', 'config'])(
    '%s --help works',
    (group) => {
      const out = orch(group, '--help');
      expect(out.status).toBe(0);
      expect(out.stdout).toContain(`Usage: orch ${group}`);
    },
  );

  it('a group with no implementation yet says so in one line and exits 2', () => {
    const out = orch('secret', 'ls');
    expect(out.status).toBe(2);
    expect(out.stderr).toBe("orch: 'secret' is not implemented yet\n");
    expect(out.stdout).toBe('');
  });
});

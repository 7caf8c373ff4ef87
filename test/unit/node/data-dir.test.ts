import { dataDirLayout, resolveDataDir } from '../../../src/node/data-dir';

describe('data dir', () => {
  it('prefers the flag, then ORCH_DATA_DIR, then the default for the user', () => {
    expect(resolveDataDir('/tmp/a', { ORCH_DATA_DIR: '/tmp/b' }, 1000)).toBe('/tmp/a');
    expect(resolveDataDir(undefined, { ORCH_DATA_DIR: '/tmp/b' }, 1000)).toBe('/tmp/b');
    expect(resolveDataDir(undefined, {}, 0)).toBe('/var/lib/orch');
    expect(resolveDataDir(undefined, {}, 1000)).toMatch(/\/\.orch$/);
  });

  it('makes a relative data dir absolute', () => {
    expect(resolveDataDir('rel/dir', {}, 0)).toBe(`${process.cwd()}/rel/dir`);
  });

  it('names every file of the node inside its data dir', () => {
    const layout = dataDirLayout('/d');
    expect(layout.controlSocket).toBe('/d/orch.sock');
    expect(Object.values(layout).every((p) => p.startsWith('/d'))).toBe(true);
  });
});

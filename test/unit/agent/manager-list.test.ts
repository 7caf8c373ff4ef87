import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagerList } from '../../../src/agent';

describe('manager list', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'orch-managers-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('goes round the managers and tries a named leader first', () => {
    const list = new ManagerList(['a:1', 'b:1', 'c:1']);
    expect([list.next(), list.next(), list.next(), list.next()]).toEqual(['a:1', 'b:1', 'c:1', 'a:1']);
    list.prefer('c:1');
    expect(list.next()).toBe('c:1');
    expect(list.addresses).toEqual(['c:1', 'a:1', 'b:1']);
  });

  it('takes the list a session announces, leader first, and keeps it across restarts', () => {
    const file = join(dir, 'managers.json');
    const list = new ManagerList(['join:1'], file);
    list.update(
      [
        { nodeId: 'm2', addr: 'b:1', leader: false },
        { nodeId: 'm1', addr: 'a:1', leader: true },
      ],
      'join:1',
    );
    expect(list.addresses).toEqual(['a:1', 'b:1', 'join:1']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ managers: ['a:1', 'b:1', 'join:1'] });
    const restarted = new ManagerList(['join:1'], file);
    expect(restarted.addresses).toEqual(['a:1', 'b:1', 'join:1']);
  });

  it('ignores an empty announcement', () => {
    const list = new ManagerList(['a:1']);
    list.update([]);
    expect(list.addresses).toEqual(['a:1']);
  });
});

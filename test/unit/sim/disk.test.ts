import type { Entry } from '../../../raft/index';
import { EntryType } from '../../../raft/index';
import { SimDisk } from '../../../raft/sim/disk';
import { Prng } from '../../../raft/sim/prng';

const entry = (index: number, term: number): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array([index]),
});
const indexes = (disk: SimDisk) => disk.load().entries.map((e) => `${e.index}/${e.term}`);

describe('simulated disk', () => {
  it('keeps synced writes across a crash', () => {
    const disk = new SimDisk();
    disk.write({ hardState: { term: 2, vote: 'n1', commit: 0 }, entries: [entry(1, 1), entry(2, 2)] });
    disk.sync();
    disk.crash(new Prng(1));
    expect(disk.load().hardState).toEqual({ term: 2, vote: 'n1', commit: 0 });
    expect(indexes(disk)).toEqual(['1/1', '2/2']);
  });

  it('loses unsynced writes on a crash, except possibly a prefix of them, never a part of one', () => {
    const survivors = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const disk = new SimDisk();
      disk.write({ entries: [entry(1, 1)] });
      disk.write({ entries: [entry(2, 1), entry(3, 1)] });
      disk.write({ hardState: { term: 1, vote: '', commit: 3 }, entries: [] });
      disk.crash(new Prng(seed));
      const state = disk.load();
      survivors.add(`${indexes(disk).join(',')}|${state.hardState.commit}`);
    }
    expect([...survivors].sort()).toEqual(['1/1,2/1,3/1|0', '1/1,2/1,3/1|3', '1/1|0', '|0']);
  });

  it('replaces a conflicting tail when entries are appended over it', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] });
    disk.write({ entries: [entry(2, 3)] });
    disk.sync();
    expect(indexes(disk)).toEqual(['1/1', '2/3']);
  });

  it('replaces the whole log with a snapshot from the leader', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(1, 1), entry(2, 1)] });
    const snapshot = {
      meta: { index: 10, term: 4, confState: { voters: ['n1'], learners: [] } },
      data: new Uint8Array(),
    };
    disk.write({ entries: [], snapshot });
    disk.sync();
    expect(disk.load().snapshot?.meta.index).toBe(10);
    expect(indexes(disk)).toEqual([]);
  });

  it('saves a local snapshot durably and compacts the log behind it', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)] });
    const snapshot = {
      meta: { index: 3, term: 1, confState: { voters: ['n1'], learners: [] } },
      data: new Uint8Array(),
    };
    disk.saveSnapshot(snapshot, 2);
    disk.crash(new Prng(3));
    expect(disk.load().snapshot?.meta.index).toBe(3);
    expect(indexes(disk)).toEqual(['3/1', '4/1']);
  });

  it('refuses an append that would leave a gap', () => {
    const disk = new SimDisk();
    disk.write({ entries: [entry(5, 1)] });
    expect(() => disk.sync()).toThrow(/gap/);
  });
});

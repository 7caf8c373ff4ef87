import { FlagError, parseFlags } from '../../../raft/examples/kv/flags';
import { encodeCommand, KvStateMachine } from '../../../raft/examples/kv/kv-state-machine';

describe('kv example flags', () => {
  it('parses the members, the addresses and the tuning flags', () => {
    const flags = parseFlags([
      '--id',
      'b',
      '--peers',
      'a=127.0.0.1:7001,b=127.0.0.1:7002',
      '--http',
      '127.0.0.1:8002',
      '--data-dir',
      '/tmp/b',
      '--snapshot-every',
      '100',
    ]);
    expect(flags).toMatchObject({
      id: 'b',
      peers: { a: '127.0.0.1:7001', b: '127.0.0.1:7002' },
      raft: '127.0.0.1:7002',
      http: '127.0.0.1:8002',
      join: undefined,
      snapshotEvery: 100,
      compactionTailEntries: 5000,
    });
  });

  it('accepts --join with --raft instead of --peers', () => {
    const flags = parseFlags([
      '--id',
      'd',
      '--raft',
      '127.0.0.1:7004',
      '--join',
      '127.0.0.1:8001',
      '--http',
      'h:1',
      '--data-dir',
      'd',
    ]);
    expect(flags).toMatchObject({ join: '127.0.0.1:8001', raft: '127.0.0.1:7004', peers: {} });
  });

  it.each([
    [['--http', 'h:1', '--data-dir', 'd', '--peers', 'a=h:2'], '--id is required'],
    [['--id', 'a', '--http', 'h:1', '--data-dir', 'd', '--peers', 'a'], '--peers: "a" is not ID=HOST:PORT'],
    [['--id', 'a', '--http', 'h:1', '--data-dir', 'd', '--peers', 'b=h:2'], '--raft is required'],
    [
      ['--id', 'a', '--http', 'h:1', '--data-dir', 'd', '--peers', 'a=h:2', '--tick-ms', '0'],
      '--tick-ms: "0"',
    ],
  ])('refuses %j with a message naming the flag', (argv, message) => {
    expect(() => parseFlags(argv)).toThrow(FlagError);
    expect(() => parseFlags(argv)).toThrow(message);
  });
});

describe('kv state machine', () => {
  it('applies puts and announcements and survives a snapshot round trip', () => {
    const kv = new KvStateMachine();
    kv.apply([
      { index: 2, term: 1, data: encodeCommand({ op: 'put', key: 'k', value: 'v1' }) },
      { index: 3, term: 1, data: encodeCommand({ op: 'announce', id: 'a', http: '127.0.0.1:8001' }) },
      { index: 4, term: 1, data: encodeCommand({ op: 'put', key: 'k', value: 'v2' }) },
    ]);
    expect(kv.get('k')).toBe('v2');
    expect(kv.httpOf('a')).toBe('127.0.0.1:8001');
    const copy = new KvStateMachine();
    copy.restore(kv.snapshot());
    expect(copy.get('k')).toBe('v2');
    expect(copy.httpOf('a')).toBe('127.0.0.1:8001');
    copy.restore(new Uint8Array());
    expect(copy.size).toBe(0);
  });
});

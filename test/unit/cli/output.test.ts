import {
  ago,
  formatInspect,
  formatJsonLines,
  formatTable,
  humanDuration,
  shortId,
} from '../../../src/cli/output';

describe('CLI output', () => {
  it('aligns table columns like docker (min width 20, padding 3), last column unpadded', () => {
    const out = formatTable(
      ['ID', 'HOSTNAME', 'STATUS'],
      [
        ['abc', 'node-1', 'Ready'],
        ['def', 'a-very-long-hostname-here', 'Down'],
      ],
    );
    expect(out.split('\n')).toEqual([
      'ID                  HOSTNAME                    STATUS',
      'abc                 node-1                      Ready',
      'def                 a-very-long-hostname-here   Down',
      '',
    ]);
  });

  it('prints an empty table as its header line only', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID                  NAME\n');
  });

  it('prints inspect output as a 4-space indented JSON array and ls --format json as JSON lines', () => {
    expect(formatInspect([{ a: 1 }])).toBe('[\n    {\n        "a": 1\n    }\n]\n');
    expect(formatJsonLines([{ a: 1 }, { b: 2 }])).toBe('{"a":1}\n{"b":2}\n');
  });

  it("shortens IDs to docker's 12 characters", () => {
    expect(shortId('0123456789abcdefghij')).toBe('0123456789ab');
  });

  it.each([
    [500, 'Less than a second'],
    [1000, '1 second'],
    [42_000, '42 seconds'],
    [60_000, 'About a minute'],
    [5 * 60_000, '5 minutes'],
    [3600_000, 'About an hour'],
    [5 * 3600_000, '5 hours'],
    [3 * 86400_000, '3 days'],
    [21 * 86400_000, '3 weeks'],
    [90 * 86400_000, '3 months'],
    [3 * 365 * 86400_000, '3 years'],
  ])("renders %d ms as docker's human duration %p", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('says how long ago something happened', () => {
    expect(ago(1_000, 6_000)).toBe('5 seconds ago');
    expect(ago(10_000, 6_000)).toBe('Less than a second ago');
  });
});

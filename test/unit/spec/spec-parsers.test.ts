import {
  formatDurationMs,
  formatMemoryBytes,
  formatNanoCpus,
  formatRestartCondition,
  parseCount,
  parseDurationMs,
  parseMemoryBytes,
  parseNanoCpus,
  parseRestartCondition,
  parseScaleArgument,
  SpecError,
} from '../../../src/manager/spec';

function errorOf(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return err as SpecError;
  }
  throw new Error('expected a SpecError');
}

describe('parseMemoryBytes', () => {
  it.each([
    ['512M', 512 * 2 ** 20],
    ['512m', 512 * 2 ** 20],
    ['1.5G', 1.5 * 2 ** 30],
    ['1g', 2 ** 30],
    ['1GiB', 2 ** 30],
    ['1GB', 2 ** 30],
    ['100k', 100 * 1024],
    ['100kb', 100 * 1024],
    ['2T', 2 * 2 ** 40],
    ['1048576', 1048576],
    ['64b', 64],
    ['0', 0],
    ['512 M', 512 * 2 ** 20],
  ])('accepts docker form %s', (text, bytes) => {
    expect(parseMemoryBytes(text)).toBe(bytes);
  });

  it.each(['', 'M', '512X', '-1M', '1.2.3G', '512i', 'lots', '1 GB extra'])(
    'rejects %j naming the flag',
    (text) => {
      const err = errorOf(() => parseMemoryBytes(text, '--reserve-memory'));
      expect(err.field).toBe('--reserve-memory');
      expect(err.message).toMatch(/^--reserve-memory: invalid size ".*": expected a size such as 512M/);
      expect(err.message).not.toContain('\n');
    },
  );

  it('formats sizes with binary units', () => {
    expect(formatMemoryBytes(512 * 2 ** 20)).toBe('512MiB');
    expect(formatMemoryBytes(1.5 * 2 ** 30)).toBe('1.5GiB');
    expect(formatMemoryBytes(100)).toBe('100B');
  });
});

describe('parseNanoCpus', () => {
  it.each([
    ['1.5', 1_500_000_000],
    ['1', 1_000_000_000],
    ['0.25', 250_000_000],
    ['.5', 500_000_000],
    ['2.', 2_000_000_000],
    ['0.000000001', 1],
    ['0', 0],
    [' 3 ', 3_000_000_000],
  ])('accepts %s CPUs', (text, nanos) => {
    expect(parseNanoCpus(text)).toBe(nanos);
  });

  it.each(['', '.', 'one', '-1', '1,5', '1.5.2', '1e3'])('rejects %j naming the flag', (text) => {
    const err = errorOf(() => parseNanoCpus(text, '--limit-cpu'));
    expect(err.message).toMatch(
      /^--limit-cpu: invalid CPU count ".*": expected a decimal number such as 1.5/,
    );
  });

  it('refuses more precision than a nano-CPU instead of rounding', () => {
    expect(errorOf(() => parseNanoCpus('0.0000000001', '--reserve-cpu')).message).toBe(
      '--reserve-cpu: CPU count "0.0000000001" is too precise: at most 9 decimals',
    );
  });

  it('formats nano-CPUs back without trailing zeros', () => {
    expect(formatNanoCpus(1_500_000_000)).toBe('1.5');
    expect(formatNanoCpus(2_000_000_000)).toBe('2');
    expect(formatNanoCpus(1)).toBe('0.000000001');
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1h2m3s4ms', 3_723_004],
    ['0', 0],
    ['0s', 0],
    ['1500us', 1],
    ['1500µs', 1],
    ['999999ns', 0],
    ['.5s', 500],
    ['+2m', 120_000],
  ])('accepts Go duration %s', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '10', 's', '10x', '1m30', '1.5.2s', 'ten seconds', '10 s'])(
    'rejects %j naming the flag',
    (text) => {
      const err = errorOf(() => parseDurationMs(text, '--restart-delay'));
      expect(err.message).toMatch(
        /^--restart-delay: invalid duration ".*": expected a duration such as 10s, 1m30s/,
      );
    },
  );

  it('rejects negative durations', () => {
    expect(errorOf(() => parseDurationMs('-5s', 'restartPolicy.delayMs')).message).toBe(
      'restartPolicy.delayMs: negative duration "-5s" is not allowed',
    );
  });

  it('formats milliseconds as Go prints durations', () => {
    expect(formatDurationMs(90_000)).toBe('1m30s');
    expect(formatDurationMs(250)).toBe('250ms');
    expect(formatDurationMs(3_600_000)).toBe('1h0m0s');
    expect(formatDurationMs(1500)).toBe('1.5s');
    expect(formatDurationMs(0)).toBe('0s');
  });
});

describe('parseRestartCondition', () => {
  it('maps the CLI spellings to the stored enum and back', () => {
    expect(parseRestartCondition('none')).toBe('RESTART_CONDITION_NONE');
    expect(parseRestartCondition('on-failure')).toBe('RESTART_CONDITION_ON_FAILURE');
    expect(parseRestartCondition('ANY')).toBe('RESTART_CONDITION_ANY');
    expect(formatRestartCondition('RESTART_CONDITION_ON_FAILURE')).toBe('on-failure');
  });

  it('rejects other values listing the accepted ones', () => {
    expect(errorOf(() => parseRestartCondition('always', '--restart-condition')).message).toBe(
      '--restart-condition: invalid restart condition "always": expected none, on-failure or any',
    );
  });
});

describe('parseCount', () => {
  it('accepts whole numbers from 0', () => {
    expect(parseCount('0')).toBe(0);
    expect(parseCount(' 12 ', '--replicas')).toBe(12);
  });

  it.each(['', '-1', '1.5', 'three', '1e3'])('rejects %j naming the flag', (text) => {
    expect(errorOf(() => parseCount(text, '--replicas')).message).toBe(
      `--replicas: invalid number ${JSON.stringify(text)}: expected a whole number of at least 0`,
    );
  });
});

describe('parseScaleArgument', () => {
  it('reads SERVICE=REPLICAS', () => {
    expect(parseScaleArgument('web=5')).toEqual({ service: 'web', replicas: 5 });
  });

  it('names the argument when it is malformed', () => {
    expect(errorOf(() => parseScaleArgument('web')).message).toBe(
      '"web": invalid scale argument: expected SERVICE=REPLICAS, e.g. web=5',
    );
    expect(errorOf(() => parseScaleArgument('web=lots')).message).toBe(
      'web replicas: invalid number "lots": expected a whole number of at least 0',
    );
  });
});

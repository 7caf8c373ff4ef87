// Durations as Docker (Go's time.ParseDuration) accepts them: `10s`, `1m30s`, `1.5h`, `250ms`,
// `500us`, `0`. Units: ns, us (or µs), ms, s, m, h. Results are whole milliseconds (sub-millisecond
// remainders are truncated, as Go's Duration.Milliseconds does); negative durations are refused
// because no spec field accepts them.

import { quote, SpecError } from './spec-error';

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const TERM = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;
const ACCEPTED = 'expected a duration such as 10s, 1m30s, 1.5h or 250ms';

/** Parses a Go-style duration into milliseconds; `field` names the flag or field in the error. */
export function parseDurationMs(value: string, field = 'duration'): number {
  const text = value.trim();
  if (text === '0') return 0;
  if (text.startsWith('-')) {
    throw new SpecError(field, `negative duration ${quote(value)} is not allowed`);
  }
  const body = text.startsWith('+') ? text.slice(1) : text;
  if (body === '') throw new SpecError(field, `invalid duration ${quote(value)}: ${ACCEPTED}`);
  let nanos = 0n;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < body.length) {
    const match = TERM.exec(body);
    if (!match || (match[1] === '' && (match[2] ?? '') === '')) {
      throw new SpecError(field, `invalid duration ${quote(value)}: ${ACCEPTED}`);
    }
    const unit = UNIT_NANOS[match[3]!]!;
    const fraction = match[2] ?? '';
    nanos += BigInt(match[1] || '0') * unit;
    if (fraction !== '') nanos += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
  }
  const ms = Number(nanos / 1_000_000n);
  if (!Number.isSafeInteger(ms)) throw new SpecError(field, `duration ${quote(value)} is too large`);
  return ms;
}

/** Formats milliseconds the way Go prints durations: 90000 → `1m30s`, 250 → `250ms`, 0 → `0s`. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  return `${hours ? `${hours}h` : ''}${hours || minutes ? `${minutes}m` : ''}${seconds}s`;
}

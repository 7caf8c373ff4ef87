// CPU amounts as Docker accepts them (`--limit-cpu 1.5`, `--reserve-cpu .25`): a decimal number of
// CPUs, stored as an integer count of nano-CPUs (1 CPU = 10^9). More than nine decimals cannot be
// represented and is refused rather than rounded.

import { quote, SpecError } from './spec-error';

const CPU_PATTERN = /^(\d*)(?:\.(\d*))?$/;
export const NANO_CPUS_PER_CPU = 1_000_000_000;

/** Parses a decimal CPU count into nano-CPUs; `field` names the flag or field in the error. */
export function parseNanoCpus(value: string, field = 'cpu'): number {
  const text = value.trim();
  const match = CPU_PATTERN.exec(text);
  const whole = match?.[1] ?? '';
  const fraction = match?.[2] ?? '';
  if (!match || (whole === '' && fraction === '')) {
    throw new SpecError(
      field,
      `invalid CPU count ${quote(value)}: expected a decimal number such as 1.5 or 0.25`,
    );
  }
  if (fraction.length > 9) {
    throw new SpecError(field, `CPU count ${quote(value)} is too precise: at most 9 decimals`);
  }
  const nanos = Number(whole || '0') * NANO_CPUS_PER_CPU + Number(fraction.padEnd(9, '0') || '0');
  if (!Number.isSafeInteger(nanos)) {
    throw new SpecError(field, `CPU count ${quote(value)} is too large`);
  }
  return nanos;
}

/** Formats nano-CPUs as a decimal CPU count without trailing zeros: 1500000000 → `1.5`. */
export function formatNanoCpus(nanoCpus: number): string {
  const whole = Math.floor(nanoCpus / NANO_CPUS_PER_CPU);
  const fraction = String(nanoCpus % NANO_CPUS_PER_CPU)
    .padStart(9, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

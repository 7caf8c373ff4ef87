// Whole-number flags and arguments: `--replicas 3`, `--restart-max-attempts 5`,
// `--replicas-max-per-node 2`, and `orch service scale web=5`.

import { quote, SpecError } from './spec-error';

const COUNT = /^\d+$/;

/** Parses a whole number of at least 0; `field` names the flag or field in the error. */
export function parseCount(value: string, field = 'count'): number {
  const text = value.trim();
  const count = Number(text);
  if (!COUNT.test(text) || !Number.isSafeInteger(count)) {
    throw new SpecError(field, `invalid number ${quote(value)}: expected a whole number of at least 0`);
  }
  return count;
}

/** Parses `SERVICE=REPLICAS` as `orch service scale` takes it. */
export function parseScaleArgument(argument: string): { service: string; replicas: number } {
  const eq = argument.indexOf('=');
  const service = eq < 0 ? '' : argument.slice(0, eq).trim();
  if (eq < 0 || service === '') {
    throw new SpecError(quote(argument), 'invalid scale argument: expected SERVICE=REPLICAS, e.g. web=5');
  }
  return { service, replicas: parseCount(argument.slice(eq + 1), `${service} replicas`) };
}

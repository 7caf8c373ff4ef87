// Memory sizes as Docker accepts them (`--reserve-memory 512M`, `--limit-memory 1.5g`, `1GiB`,
// `1048576`): a number, an optional unit k, m, g, t or p (any case, binary multiples of 1024, an
// optional `i` and `b`), or plain bytes. Also the reverse, for tables.

import { quote, SpecError } from './spec-error';

const MEMORY_PATTERN = /^(\d+(?:\.\d+)?|\.\d+) ?([kmgtp])?(i)?(b)?$/i;
const MULTIPLIERS: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
const ACCEPTED = 'expected a size such as 512M, 1.5G, 100k or a number of bytes';

/** Parses a memory size into bytes; `field` names the flag or field in the error. */
export function parseMemoryBytes(value: string, field = 'memory'): number {
  const text = value.trim();
  const match = MEMORY_PATTERN.exec(text);
  // A bare `i` ("512i") is not a unit Docker accepts.
  if (!match || (match[3] && !match[2])) {
    throw new SpecError(field, `invalid size ${quote(value)}: ${ACCEPTED}`);
  }
  const multiplier = match[2] ? MULTIPLIERS[match[2].toLowerCase()]! : 1;
  const bytes = Math.floor(Number(match[1]) * multiplier);
  if (!Number.isSafeInteger(bytes)) {
    throw new SpecError(field, `size ${quote(value)} is too large`);
  }
  return bytes;
}

/** Formats bytes the way `docker service inspect --pretty` does: `512MiB`, `1.5GiB`, `100B`. */
export function formatMemoryBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  const rounded = Math.round(size * 100) / 100;
  return `${rounded}${units[unit]}`;
}

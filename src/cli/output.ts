// How the CLI prints: docker-style aligned tables, JSON, durations and IDs.
// Every command prints through these so `orch x ls` reads like `docker x ls`.

/** Column layout of docker's tabwriter (min width 20, padding 3): columns line up like docker's. */
const MIN_COLUMN_WIDTH = 20;
const COLUMN_PADDING = 3;

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, col) =>
    Math.max(
      MIN_COLUMN_WIDTH,
      COLUMN_PADDING + Math.max(h.length, ...rows.map((r) => (r[col] ?? '').length)),
    ),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, col) => (col === cells.length - 1 ? cell : cell.padEnd(widths[col])))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `docker inspect`'s form: a JSON array, 4-space indent. */
export function formatInspect(objects: readonly unknown[]): string {
  return JSON.stringify(objects, null, 4) + '\n';
}

/** `docker x ls --format json`'s form: one compact JSON object per line. */
export function formatJsonLines(objects: readonly unknown[]): string {
  return objects.map((o) => JSON.stringify(o) + '\n').join('');
}

/** Short IDs as docker shows them in tables. */
export function shortId(id: string, length = 12): string {
  return id.slice(0, length);
}

/** Docker's HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(seconds / 3600);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** "5 seconds ago"-style relative time from `thenMs` to `nowMs`. */
export function ago(thenMs: number, nowMs = Date.now()): string {
  return `${humanDuration(Math.max(0, nowMs - thenMs))} ago`;
}

// Reads the tables the orch CLI prints (`orch service ps`, `orch node ls`): columns are padded to
// fixed widths under their headers, so each cell is cut at its header's offset. Cells may be empty
// (a pending task has no NODE) and may hold single spaces ("Running 5 seconds ago").

export type TableRow = Record<string, string>;

/** The rows of a table whose header line names `headers` (in order); every cell trimmed. */
export function parseTable(text: string, headers: readonly string[]): TableRow[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const headerIndex = lines.findIndex((line) => headers.every((h) => line.includes(h)));
  if (headerIndex < 0) throw new Error(`no table with the headers ${headers.join(', ')} in:\n${text}`);
  const header = lines[headerIndex]!;
  const offsets = headers.map((h) => header.indexOf(h));
  return lines.slice(headerIndex + 1).map((line) => {
    const row: TableRow = {};
    headers.forEach((h, i) => {
      const end = i + 1 < offsets.length ? offsets[i + 1] : line.length;
      row[h] = line.slice(offsets[i], end).trim();
    });
    return row;
  });
}

export const TASK_TABLE = [
  'ID',
  'NAME',
  'IMAGE',
  'NODE',
  'DESIRED STATE',
  'CURRENT STATE',
  'ERROR',
  'PORTS',
] as const;

/** `orch service ps` / `orch node ps` rows. */
export function parseTaskTable(text: string): TableRow[] {
  return parseTable(text, TASK_TABLE);
}

/** The rows of the current task of each slot (history rows, ` \_ web.1`, left out). */
export function currentTasks(rows: readonly TableRow[]): TableRow[] {
  return rows.filter((row) => !row.NAME!.startsWith('\\_'));
}

/** The history rows (` \_ web.1`). */
export function historyTasks(rows: readonly TableRow[]): TableRow[] {
  return rows.filter((row) => row.NAME!.startsWith('\\_'));
}

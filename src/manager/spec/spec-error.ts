// The one error type of spec parsing and validation. Its message is a single line naming the field
// (an API path such as `placement.constraints[1]` or a CLI flag such as `--reserve-memory`), the
// offending value and the accepted form, so the CLI and the Control API can show it as is.

export class SpecError extends Error {
  override name = 'SpecError';
  constructor(
    /** The field or flag at fault, e.g. `resources.reservations.memoryBytes` or `--limit-cpu`. */
    readonly field: string,
    /** What is wrong and what would be accepted; the message is `${field}: ${problem}`. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${problem}`, options);
  }
}

/** Quotes a user-supplied value for an error message, keeping the message on one line. */
export function quote(value: unknown): string {
  return JSON.stringify(String(value));
}

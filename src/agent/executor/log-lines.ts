// Turns the byte chunks of a container's stdout and stderr into LogEntry lines, delivered through an
// async iterator with backpressure: when the consumer falls behind, the source is paused instead of
// buffering without bound. Used by the Docker executor's logs(); knows nothing of Docker itself.
import type { LogEntry } from './executor';

/** Lines buffered before the source is paused. */
const HIGH_WATER_LINES = 1024;

export interface LineSource {
  pause(): void;
  resume(): void;
  /** Stops the source for good (the consumer went away or aborted). */
  destroy(): void;
}

/** Parses Docker's `timestamps=true` prefix ("2024-01-02T03:04:05.123456789Z "). */
function splitTimestamp(line: string): { time?: Date; line: string } {
  const space = line.indexOf(' ');
  if (space < 20) return { line };
  const stamp = line.slice(0, space);
  // Date parses milliseconds only; drop the sub-millisecond digits of RFC 3339 nano.
  const time = new Date(stamp.replace(/(\.\d{3})\d*Z$/, '$1Z'));
  if (Number.isNaN(time.getTime())) return { line };
  return { time, line: line.slice(space + 1) };
}

export class LogLineQueue implements AsyncIterable<LogEntry> {
  private readonly lines: LogEntry[] = [];
  private readonly partial = { stdout: '', stderr: '' };
  private wake?: () => void;
  private ended = false;
  private failure?: unknown;
  private paused = false;
  private source?: LineSource;

  /** `timestamped`: the engine prefixes every line with its time; `keepTime`: expose it on the entry. */
  constructor(
    private readonly timestamped: boolean,
    private readonly keepTime: boolean,
  ) {}

  attach(source: LineSource): void {
    this.source = source;
  }

  /** Appends bytes written to `stream`; complete lines become entries. */
  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): void {
    if (this.ended) return;
    const text = this.partial[stream] + chunk.toString();
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const raw of parts) this.push(stream, raw);
    this.notify();
  }

  /** The source has no more bytes: flush unterminated lines and finish the iteration. */
  end(err?: unknown): void {
    if (this.ended) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.push(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
    this.ended = true;
    this.failure = err;
    this.notify();
  }

  private push(stream: 'stdout' | 'stderr', raw: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const { time, line } = this.timestamped ? splitTimestamp(text) : { time: undefined, line: text };
    this.lines.push(this.keepTime && time ? { stream, line, time } : { stream, line });
    if (!this.paused && this.lines.length >= HIGH_WATER_LINES && this.source) {
      this.paused = true;
      this.source.pause();
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<LogEntry> {
    try {
      for (;;) {
        const entry = this.lines.shift();
        if (entry) {
          if (this.paused && this.lines.length < HIGH_WATER_LINES / 2) {
            this.paused = false;
            this.source?.resume();
          }
          yield entry;
          continue;
        }
        if (this.ended) {
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
      }
    } finally {
      // The consumer stopped early (break, return, throw): release the engine's stream.
      this.ended = true;
      this.source?.destroy();
    }
  }
}

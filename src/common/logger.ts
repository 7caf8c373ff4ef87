// The one logger every orch module receives (injected, never imported as a global).
// JSON lines through pino; a module adds its name and context with `logger.child({ module, ... })`.
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** pino level name; default from ORCH_LOG_LEVEL, else 'info'. */
  level?: string;
  /** A file path to append to, or a file descriptor (default: stderr). */
  destination?: string | number;
  /** Fields on every line, e.g. { node: nodeId }. */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.ORCH_LOG_LEVEL ?? 'info';
  const destination = pino.destination({ dest: options.destination ?? 2, sync: false, mkdir: true });
  return pino({ level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}

/** A logger that drops everything: for tests and for library callers that want silence. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

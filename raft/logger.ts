// The logging interface the core is given. A pino logger (or a child of one) satisfies it as is; the core
// never writes to the console and logs nothing when no logger is injected.

export interface RaftLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const ignore = (): void => {};

/** The logger used when the configuration has none. */
export const silentLogger: RaftLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

// Errors a user can cause. The CLI prints their message as one line (no stack) and exits with `exitCode`.
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A command group or flag that exists in the CLI's shape but has no implementation yet. */
export class NotImplementedError extends UserError {
  override name = 'NotImplementedError';
  constructor(what: string) {
    super(`'${what}' is not implemented yet`, 2);
  }
}

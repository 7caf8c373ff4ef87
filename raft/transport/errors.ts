// Errors of the Raft transport.

/** The transport could not bind its listening address. */
export class TransportListenError extends Error {
  override readonly name = 'TransportListenError';
  constructor(
    readonly address: string,
    options?: { cause?: unknown },
  ) {
    super(`raft transport cannot listen on ${address}`, options);
  }
}

/** A snapshot stream was refused or broke before the peer accepted the snapshot. */
export class SnapshotSendError extends Error {
  override readonly name = 'SnapshotSendError';
  constructor(
    readonly peer: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`sending snapshot to ${peer}: ${message}`, options);
  }
}

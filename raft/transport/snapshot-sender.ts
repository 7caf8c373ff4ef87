// Sends one snapshot to a peer on its own client stream, in chunks, honouring the stream's
// back-pressure so a large snapshot never holds up the message stream's heartbeats.
import type { RaftClient } from '../../src/api/gen/types/orch/raft/Raft';
import type { SnapshotChunk } from '../../src/api/gen/types/orch/raft/SnapshotChunk';
import type { Message } from '../types';
import { messageToWire } from './codec';
import { SnapshotSendError } from './errors';

export interface SendSnapshotOptions {
  chunkBytes: number;
  signal?: AbortSignal;
}

/** Resolves once the peer accepted the whole snapshot; rejects with SnapshotSendError otherwise. */
export function sendSnapshot(client: RaftClient, m: Message, options: SendSnapshotOptions): Promise<void> {
  const snapshot = m.snapshot;
  if (snapshot === undefined)
    return Promise.reject(new SnapshotSendError(m.to, 'message carries no snapshot'));
  const data = snapshot.data;
  return new Promise<void>((resolve, reject) => {
    const call = client.sendSnapshot((err, ack) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (err) reject(new SnapshotSendError(m.to, err.message, { cause: err }));
      else if (!ack?.accepted) reject(new SnapshotSendError(m.to, 'peer refused the snapshot'));
      else resolve();
    });
    const onAbort = () => call.cancel();
    if (options.signal?.aborted) {
      call.cancel();
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    call.on('error', () => {
      // Reported through the callback.
    });

    let offset = 0;
    let first = true;
    const writeChunks = () => {
      while (offset < data.byteLength || first) {
        const end = Math.min(data.byteLength, offset + options.chunkBytes);
        const chunk: SnapshotChunk = { data: data.subarray(offset, end), last: end >= data.byteLength };
        if (first) {
          chunk.message = messageToWire(m);
          chunk.totalBytes = data.byteLength;
          first = false;
        }
        offset = end;
        const more = call.write(chunk);
        if (chunk.last) {
          call.end();
          return;
        }
        if (!more) {
          call.once('drain', writeChunks);
          return;
        }
      }
    };
    writeChunks();
  });
}

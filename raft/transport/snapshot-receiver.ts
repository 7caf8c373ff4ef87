// Server side of the snapshot stream: reassembles chunks into one MSG_SNAPSHOT message.

import type { Message__Output as WireMessage } from '../../src/api/gen/types/orch/raft/Message';
import type { SnapshotChunk__Output } from '../../src/api/gen/types/orch/raft/SnapshotChunk';
import type { Message } from '../types';
import { messageFromWire, WireDecodeError } from './codec';

/** Collects the chunks of one snapshot stream. */
export class SnapshotAssembler {
  private header: WireMessage | undefined;
  private data: Buffer | undefined;
  private received = 0;

  constructor(private readonly maxBytes: number) {}

  /** Adds a chunk; returns the complete message after the last chunk, undefined before. */
  add(chunk: SnapshotChunk__Output): Message | undefined {
    if (this.header === undefined) {
      if (chunk.message === null) throw new WireDecodeError('first snapshot chunk carries no message');
      if (chunk.totalBytes > this.maxBytes) {
        throw new WireDecodeError(
          `snapshot of ${chunk.totalBytes} bytes exceeds the limit of ${this.maxBytes}`,
        );
      }
      this.header = chunk.message;
      this.data = Buffer.allocUnsafe(chunk.totalBytes);
    }
    const data = this.data!;
    if (this.received + chunk.data.byteLength > data.byteLength) {
      throw new WireDecodeError('snapshot chunks exceed the announced size');
    }
    chunk.data.copy(data, this.received);
    this.received += chunk.data.byteLength;
    if (!chunk.last) return undefined;
    if (this.received !== data.byteLength) throw new WireDecodeError('snapshot stream ended early');
    return messageFromWire(this.header, data);
  }
}

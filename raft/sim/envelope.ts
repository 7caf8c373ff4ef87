// What travels over the simulated network: Raft messages between nodes, and the key-value
// protocol between clients and nodes.

import type { Message } from '../types';
import type { KvInput, KvOutput } from './kv-model';

export interface ClientRequest {
  client: string;
  seq: number;
  /** Which attempt of the operation this is; responses to older attempts are ignored. */
  attempt: number;
  op: KvInput;
}

export type ClientResponse =
  | {
      client: string;
      seq: number;
      attempt: number;
      kind: 'ok';
      output: KvOutput;
      index: number;
      term: number;
    }
  /** Not proposed: the node is not the leader (or could not take the proposal). Safe to retry anywhere. */
  | { client: string; seq: number; attempt: number; kind: 'rejected'; leaderHint: string; reason: string };

export type Envelope =
  | { kind: 'raft'; from: string; to: string; message: Message }
  | { kind: 'request'; from: string; to: string; request: ClientRequest }
  | { kind: 'response'; from: string; to: string; response: ClientResponse };

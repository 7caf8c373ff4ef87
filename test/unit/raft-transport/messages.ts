// Core messages for the transport tests: an Append from a to b unless overridden.
import { type Message, MessageType } from '../../../raft/types';

export function message(overrides: Partial<Message>): Message {
  return {
    type: MessageType.Append,
    from: 'a',
    to: 'b',
    term: 3,
    logTerm: 2,
    index: 10,
    entries: [],
    commit: 9,
    reject: false,
    rejectHint: 0,
    ...overrides,
  };
}

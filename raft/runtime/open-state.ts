// What a member starts from: its recovered state when the data directory holds one, an empty log
// when it joins an existing cluster, or a bootstrap snapshot listing the initial voters (and their
// addresses) when it founds a new cluster. Restores the application's state from the snapshot.
import type { Logger } from 'pino';
import { MemoryStorage } from '../index';
import type { RaftStorage } from '../storage';
import { type HardState, NONE, type NodeId, type Snapshot } from '../types';
import { decodeSnapshotEnvelope, encodeSnapshotEnvelope, type MemberInfo } from './members';
import type { RaftNodeOptions } from './options';
import { isEmpty, memoryStorageFrom } from './recover';

export interface LocalState {
  /** The core's stable log, as persisted. */
  memory: MemoryStorage;
  /** Every member whose address is known, this one included when it is. */
  members: Map<NodeId, MemberInfo>;
}

export async function openLocalState(
  options: RaftNodeOptions,
  disk: RaftStorage,
  logger: Logger,
): Promise<LocalState> {
  const persisted = await disk.load();
  const members = new Map<NodeId, MemberInfo>();
  for (const [id, address] of Object.entries(options.initialMembers ?? {})) members.set(id, { address });
  if (!isEmpty(persisted)) {
    const memory = memoryStorageFrom(persisted);
    const snapshot = memory.snapshot();
    const { members: snapshotMembers, app } = decodeSnapshotEnvelope(snapshot.data);
    for (const [id, info] of snapshotMembers ?? []) members.set(id, info);
    if (snapshot.meta.index > 0) await options.stateMachine.restore(app);
    logger.info({ snapshot: snapshot.meta.index, last: memory.lastIndex() }, 'raft state recovered');
    return { memory, members };
  }
  if (options.join) {
    logger.info('starting empty: waiting to be added to a cluster');
    return { memory: new MemoryStorage(), members };
  }
  const memory = await bootstrap(options, disk, members);
  logger.info({ voters: [...members.keys()] }, 'bootstrapped a new raft cluster');
  return { memory, members };
}

/** Storage of an initial member of a new cluster: a snapshot at index 1 holding the voters and their addresses. */
async function bootstrap(
  options: RaftNodeOptions,
  disk: RaftStorage,
  members: Map<NodeId, MemberInfo>,
): Promise<MemoryStorage> {
  if (!members.has(options.id))
    members.set(options.id, { address: options.advertiseAddress ?? options.listen ?? '' });
  const voters = [...members.keys()].sort();
  const snapshot: Snapshot = {
    meta: { index: 1, term: 1, confState: { voters, learners: [] } },
    data: encodeSnapshotEnvelope(members, new Uint8Array()),
  };
  const hardState: HardState = { term: 1, vote: NONE, commit: 1 };
  await disk.save({ snapshot, hardState, entries: [] }, { sync: true });
  const memory = new MemoryStorage();
  memory.applySnapshot(snapshot);
  memory.setHardState(hardState);
  return memory;
}

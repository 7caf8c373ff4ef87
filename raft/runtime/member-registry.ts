// The members this node knows an address for, kept in step with the transport's peers: every change
// (a conf change applied, a snapshot installed) goes through here so the two never disagree.
import type { GrpcTransport } from '../transport';
import type { NodeId } from '../types';
import type { MemberInfo } from './members';

export class MemberRegistry {
  constructor(
    private readonly self: NodeId,
    private readonly members: Map<NodeId, MemberInfo>,
    private readonly transport: GrpcTransport,
  ) {
    for (const [id, info] of members) transport.addPeer(id, info.address);
  }

  get(id: NodeId): MemberInfo | undefined {
    return this.members.get(id);
  }

  has(id: NodeId): boolean {
    return this.members.has(id);
  }

  /** A copy of every known member. */
  list(): Map<NodeId, MemberInfo> {
    return new Map(this.members);
  }

  set(id: NodeId, info: MemberInfo): void {
    this.members.set(id, info);
    this.transport.addPeer(id, info.address);
  }

  remove(id: NodeId): void {
    this.members.delete(id);
    this.transport.removePeer(id);
  }

  /** Replaces the whole list (from a snapshot), keeping this member's own entry. */
  replace(members: ReadonlyMap<NodeId, MemberInfo>): void {
    const self = this.members.get(this.self);
    for (const id of [...this.members.keys()]) {
      if (!members.has(id) && id !== this.self) this.remove(id);
    }
    for (const [id, info] of members) this.set(id, info);
    if (self && !this.members.has(this.self)) this.members.set(this.self, self);
  }
}

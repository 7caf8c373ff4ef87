import * as grpc from '@grpc/grpc-js';
import type { Service__Output } from '../../../src/api/gen/types/orch/objects/Service';
import { ControlCallError } from '../../../src/cli/control-client';
import { updateWithRetry } from '../../../src/cli/service/service-write';

/** A service whose version the "managers" bump `conflicts` times before the CLI's write lands. */
function fakeClient(conflicts: number) {
  let version = 1;
  let spec = { name: 'web', labels: {} as Record<string, string> };
  const writes: number[] = [];
  return {
    writes,
    spec: () => spec,
    async getService(): Promise<Service__Output> {
      return { meta: { id: 's1', version }, spec: structuredClone(spec) } as unknown as Service__Output;
    },
    async updateService(_id: string, readVersion: number, next: unknown): Promise<Service__Output> {
      writes.push(readVersion);
      if (conflicts > 0) {
        conflicts--;
        version++; // the rolling update wrote the service's status meanwhile
        throw new ControlCallError(
          'service s1: update out of sequence',
          grpc.status.ABORTED,
          'VersionConflictError',
        );
      }
      if (readVersion !== version) throw new Error('stale write accepted');
      spec = next as typeof spec;
      version++;
      return { meta: { id: 's1', version }, spec } as unknown as Service__Output;
    },
  };
}

describe('service update', () => {
  it('re-reads and re-applies the change when the managers wrote the service in between', async () => {
    const client = fakeClient(2);
    const { updated } = await updateWithRetry(client, 'web', (spec) => {
      (spec as { labels: Record<string, string> }).labels.tier = 'front';
    });
    expect(client.writes).toEqual([1, 2, 3]);
    expect(updated.spec).toMatchObject({ labels: { tier: 'front' } });
  });

  it('gives up with the conflict after a few attempts', async () => {
    const client = fakeClient(10);
    await expect(updateWithRetry(client, 'web', () => {})).rejects.toThrow(/out of sequence/);
    expect(client.writes).toHaveLength(5);
  });

  it('does not retry other errors', async () => {
    const client = fakeClient(0);
    client.updateService = async () => {
      throw new ControlCallError('spec.name: required', grpc.status.INVALID_ARGUMENT, 'SpecError');
    };
    await expect(updateWithRetry(client, 'web', () => {})).rejects.toThrow(/spec.name/);
  });
});

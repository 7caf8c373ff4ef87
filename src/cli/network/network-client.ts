// The network calls of the Control API for the CLI. They go through the shared ControlApiClient's
// call path (deadline, cancellation, one-line errors); until that client grows typed network methods
// this module is where they live.
import type { ListNetworksRequest } from '../../api/gen/types/orch/control/ListNetworksRequest';
import type { Network__Output } from '../../api/gen/types/orch/objects/Network';
import type { NetworkSpec } from '../../api/gen/types/orch/objects/NetworkSpec';
import type { CallOptions, ControlApiClient, ReadOptions } from '../control-client';

type Unary = <Res>(method: string, request: unknown, o: CallOptions) => Promise<Res>;

export class NetworkClient {
  private readonly unary: Unary;

  constructor(client: ControlApiClient) {
    // The control client's generic unary call: same deadline, cancellation and error mapping.
    const call = (client as unknown as { unary: Unary }).unary;
    this.unary = call.bind(client) as Unary;
  }

  createNetwork(spec: NetworkSpec, o: CallOptions = {}): Promise<Network__Output> {
    return this.unary('createNetwork', { spec }, o);
  }
  getNetwork(networkId: string, o: ReadOptions = {}): Promise<Network__Output> {
    return this.unary('getNetwork', { networkId, linearizable: !!o.linearizable }, o);
  }
  async listNetworks(request: ListNetworksRequest = {}, o: CallOptions = {}): Promise<Network__Output[]> {
    return (await this.unary<{ networks: Network__Output[] }>('listNetworks', request, o)).networks;
  }
  async removeNetwork(networkId: string, o: CallOptions = {}): Promise<void> {
    await this.unary('removeNetwork', { networkId }, o);
  }
}

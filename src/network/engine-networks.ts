// This node's networks on the Docker engine: one bridge network per orch network that a task of
// this node uses, named `orch-<network id 12>-<node id 12>` and labelled `orch.network.id` and
// `orch.node.id`, so nodes sharing one engine each have their own bridge (and gateway address, where
// their embedded DNS and VIP listeners live) and never touch another node's. The engine picks the
// subnet. Creating is idempotent (found by labels first; a concurrent create is tolerated);
// removing refuses while containers are attached (the engine's own check), which is reported, not
// thrown, so the caller can try again later.
import type Docker from 'dockerode';
import { LABEL_NODE_ID } from '../agent/executor/docker-labels';

export const LABEL_NETWORK_ID = 'orch.network.id';
export const LABEL_NETWORK_NAME = 'orch.network.name';

export class EngineNetworkError extends Error {
  override name = 'EngineNetworkError';
}

export interface EngineNetwork {
  /** The orch network's ID. */
  networkId: string;
  /** The engine's network ID and name. */
  engineId: string;
  engineName: string;
  /** The Linux bridge interface (`br-<engine id 12>`, or the one the network was created with). */
  bridge: string;
  /** The bridge's address: containers reach this node's DNS and VIP listeners there. */
  gateway: string;
  subnet: string;
}

export function engineNetworkName(networkId: string, nodeId: string): string {
  return `orch-${networkId.slice(0, 12)}-${nodeId.slice(0, 12)}`;
}

interface NetworkInspect {
  Id: string;
  Name: string;
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
  Containers?: Record<string, unknown> | null;
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' ? code : undefined;
}

function describe(inspect: NetworkInspect, networkId: string): EngineNetwork {
  const config = inspect.IPAM?.Config?.find((c) => c.Gateway && !c.Gateway.includes(':'));
  if (!config?.Gateway || !config.Subnet)
    throw new EngineNetworkError(`engine network ${inspect.Name} has no IPv4 gateway`);
  return {
    networkId,
    engineId: inspect.Id,
    engineName: inspect.Name,
    bridge: inspect.Options?.['com.docker.network.bridge.name'] || `br-${inspect.Id.slice(0, 12)}`,
    gateway: config.Gateway.split('/')[0]!,
    subnet: config.Subnet,
  };
}

export class EngineNetworks {
  constructor(
    private readonly docker: Docker,
    private readonly nodeId: string,
  ) {}

  /** This node's engine network for `networkId`, created when missing. */
  async ensure(networkId: string, networkName = ''): Promise<EngineNetwork> {
    const existing = await this.find(networkId);
    if (existing) return existing;
    const name = engineNetworkName(networkId, this.nodeId);
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Attachable: true,
        Labels: {
          [LABEL_NETWORK_ID]: networkId,
          [LABEL_NODE_ID]: this.nodeId,
          ...(networkName ? { [LABEL_NETWORK_NAME]: networkName } : {}),
        },
      });
    } catch (err) {
      // Created meanwhile by a concurrent ensure: use that one.
      if (statusCode(err) !== 409)
        throw new EngineNetworkError(`cannot create engine network ${name}: ${message(err)}`, { cause: err });
    }
    const created = await this.find(networkId);
    if (!created) throw new EngineNetworkError(`engine network ${name} vanished right after it was created`);
    return created;
  }

  /** This node's engine network for `networkId`, if it exists. */
  async find(networkId: string): Promise<EngineNetwork | undefined> {
    const listed = (await this.docker.listNetworks({
      filters: { label: [`${LABEL_NETWORK_ID}=${networkId}`, `${LABEL_NODE_ID}=${this.nodeId}`] },
    })) as NetworkInspect[];
    const first = listed[0];
    if (!first) return undefined;
    return describe(await this.inspect(first.Id), networkId);
  }

  /** Every engine network of this node, by orch network ID. */
  async list(): Promise<Map<string, EngineNetwork>> {
    const listed = (await this.docker.listNetworks({
      filters: { label: [`${LABEL_NODE_ID}=${this.nodeId}`, LABEL_NETWORK_ID] },
    })) as NetworkInspect[];
    const result = new Map<string, EngineNetwork>();
    for (const entry of listed) {
      const networkId = entry.Labels?.[LABEL_NETWORK_ID];
      if (!networkId) continue;
      try {
        result.set(networkId, describe(await this.inspect(entry.Id), networkId));
      } catch (err) {
        if (statusCode(err) !== 404) throw err;
      }
    }
    return result;
  }

  /**
   * Removes this node's engine network for `networkId`. Returns false (and removes nothing) while
   * containers are attached; true when it is gone (or never existed).
   */
  async remove(networkId: string): Promise<boolean> {
    const network = await this.find(networkId);
    if (!network) return true;
    try {
      await this.docker.getNetwork(network.engineId).remove();
      return true;
    } catch (err) {
      const code = statusCode(err);
      if (code === 404) return true;
      if (code === 403 || code === 409) return false; // active endpoints
      throw new EngineNetworkError(`cannot remove engine network ${network.engineName}: ${message(err)}`, {
        cause: err,
      });
    }
  }

  private async inspect(engineId: string): Promise<NetworkInspect> {
    return (await this.docker.getNetwork(engineId).inspect()) as NetworkInspect;
  }
}

function message(err: unknown): string {
  const json = (err as { json?: { message?: unknown } }).json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}

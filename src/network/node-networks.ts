// One node's share of orch networks: for every network a task of this node is attached to, the
// engine's bridge network (engine-networks.ts), an embedded DNS on the bridge gateway answering the
// network's service names and aliases with their VIPs, and a VIP listener on the gateway (a
// RoutingMesh bound there) balancing each VIP port over the service's tasks on every node, reached
// from the containers through this node's nftables DNAT rules (vip-nftables.ts). All of it follows
// the NetworkDirectory. A network is brought up by the first task that needs it (ensureForTask, from
// the executor before its container is created) and taken down once no task of this node uses it
// and the engine has no container on it; networks found on the engine at start (containers of a
// previous run) are brought up again so adopted containers keep resolving names.
// Every change is serialized on one queue; close() releases listeners, rules and timers (the
// engine networks stay, like containers, for the next start to adopt).
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { RoutingMesh } from '../mesh';
import type { DnsForwarder } from './dns-forwarder';
import { UpstreamDnsForwarder } from './dns-forwarder';
import { EmbeddedDns } from './embedded-dns';
import { type EngineNetwork, EngineNetworks } from './engine-networks';
import type { NetworkDirectory, NetworkedService } from './network-directory';
import { type VipNftables, type VipRoute, VipNftables as VipRules } from './vip-nftables';

export interface NodeNetworksOptions {
  nodeId: string;
  docker: Docker;
  directory: NetworkDirectory;
  logger: Logger;
  /** Port of the embedded DNS servers. Default 53 (what containers are told). */
  dnsPort?: number;
  /** First local port of the VIP listeners on each gateway. Default 20000. */
  vipPortBase?: number;
  /** Where names that are not ours go. Default: the host's resolvers (/etc/resolv.conf). */
  forwarder?: DnsForwarder;
  /** Kernel rules for VIPs; `false` to run without (DNS only). Default: when nft and root allow. */
  nftables?: VipNftables | false;
  /** How often unused engine networks are looked at again. Default 10 s. */
  gcIntervalMs?: number;
}

/** What a task's container needs to be created on its networks. */
export interface TaskNetworking {
  /** Engine network names, the first one primary. */
  engineNetworks: string[];
  /** The embedded DNS for the container (its primary network's gateway). */
  dns: string[];
}

export class NodeNetworksError extends Error {
  override name = 'NodeNetworksError';
}

interface ActiveNetwork {
  engine: EngineNetwork;
  dns: EmbeddedDns | undefined;
  vips: RoutingMesh;
  /** Lower-case name → addresses, swapped whole on every directory change. */
  records: Map<string, string[]>;
  /** `serviceId/tcp/80` → local port on the gateway. */
  localPorts: Map<string, number>;
  nextPort: number;
  /** Services whose VIP listener is set, for removal. */
  services: Set<string>;
}

export class NodeNetworks {
  private readonly engine: EngineNetworks;
  private readonly logger: Logger;
  private readonly active = new Map<string, ActiveNetwork>();
  /** Network ID → IDs of this node's tasks attached to it. */
  private readonly users = new Map<string, Set<string>>();
  private nft: VipNftables | undefined;
  private queue: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private gcTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly forwarder: DnsForwarder;

  private constructor(private readonly options: NodeNetworksOptions) {
    this.logger = options.logger.child({ module: 'networks' });
    this.engine = new EngineNetworks(options.docker, options.nodeId);
    this.forwarder =
      options.forwarder ??
      new UpstreamDnsForwarder({
        logger: this.logger,
        exclude: () => [...this.active.values()].map((a) => a.engine.gateway),
      });
  }

  /** Detects nftables, brings up the networks this node already has on the engine, follows the directory. */
  static async start(options: NodeNetworksOptions): Promise<NodeNetworks> {
    const networks = new NodeNetworks(options);
    networks.nft =
      options.nftables === false
        ? undefined
        : (options.nftables ?? (await VipRules.create({ nodeId: options.nodeId, logger: networks.logger })));
    try {
      await networks.serialize(async () => {
        for (const [networkId, engine] of await networks.engine.list())
          await networks.activate(networkId, engine);
        await networks.syncAll();
      });
    } catch (err) {
      await networks.close();
      throw err;
    }
    networks.unsubscribe = options.directory.subscribe(
      () => void networks.serialize(() => networks.onDirectory()),
    );
    networks.gcTimer = setInterval(
      () => void networks.serialize(() => networks.collect()),
      options.gcIntervalMs ?? 10_000,
    );
    networks.gcTimer.unref();
    return networks;
  }

  /** The networks up on this node: orch network ID → engine network. */
  get networks(): ReadonlyMap<string, EngineNetwork> {
    return new Map([...this.active].map(([id, a]) => [id, a.engine]));
  }

  /** The DNS records a network answers now (for status and tests). */
  recordsOf(networkId: string): ReadonlyMap<string, readonly string[]> {
    return this.active.get(networkId)?.records ?? new Map();
  }

  /**
   * Brings up every network of `networkIds` for task `taskId` and says how its container joins them.
   * Rejects with NodeNetworksError when the engine cannot make a network or a network is unknown.
   */
  ensureForTask(
    taskId: string,
    networkIds: readonly string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<TaskNetworking> {
    return this.serialize(async () => {
      options.signal?.throwIfAborted();
      const engineNetworks: string[] = [];
      for (const networkId of networkIds) {
        if (this.options.directory.networks()?.has(networkId) === false)
          throw new NodeNetworksError(`network ${networkId} does not exist (removed?)`);
        const users = this.users.get(networkId) ?? new Set<string>();
        this.users.set(networkId, users);
        users.add(taskId);
        const active =
          this.active.get(networkId) ?? (await this.activate(networkId, await this.engine.ensure(networkId)));
        engineNetworks.push(active.engine.engineName);
      }
      await this.syncAll();
      const primary = networkIds[0] === undefined ? undefined : this.active.get(networkIds[0]);
      return { engineNetworks, dns: primary?.dns ? [primary.engine.gateway] : [] };
    });
  }

  /** Task `taskId` no longer has a container here: its networks may go. */
  release(taskId: string): void {
    let changed = false;
    for (const users of this.users.values()) changed = users.delete(taskId) || changed;
    if (changed) void this.serialize(() => this.collect());
  }

  /** Only these tasks have containers here (e.g. after listing the engine): forget the others. */
  retainTasks(taskIds: ReadonlySet<string>): void {
    for (const users of this.users.values())
      for (const id of [...users]) if (!taskIds.has(id)) users.delete(id);
    void this.serialize(() => this.collect());
  }

  /** Resolves once every change queued so far has been applied (tests, status). */
  async settled(): Promise<void> {
    await this.queue;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    if (this.gcTimer) clearInterval(this.gcTimer);
    await this.queue;
    for (const active of this.active.values()) await this.shutDown(active);
    this.active.clear();
    await this.nft?.close();
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(() => {
      if (this.closed) throw new NodeNetworksError('node networks are closed');
      return work();
    });
    this.queue = next.then(
      () => undefined,
      (err: unknown) => {
        if (!this.closed && !(err instanceof NodeNetworksError))
          this.logger.warn({ err }, 'networks: an update failed; it is retried on the next change');
      },
    );
    return next;
  }

  private async activate(networkId: string, engine: EngineNetwork): Promise<ActiveNetwork> {
    const records = new Map<string, string[]>();
    const vips = new RoutingMesh({ meshAddress: engine.gateway, logger: this.logger });
    const active: ActiveNetwork = {
      engine,
      dns: undefined,
      vips,
      records,
      localPorts: new Map(),
      nextPort: this.options.vipPortBase ?? 20_000,
      services: new Set(),
    };
    try {
      active.dns = await EmbeddedDns.start({
        address: engine.gateway,
        port: this.options.dnsPort ?? 53,
        resolve: (name) => active.records.get(name),
        forwarder: this.forwarder,
        logger: this.logger.child({ network: networkId }),
      });
    } catch (err) {
      this.logger.error(
        { err, network: networkId, address: engine.gateway },
        'cannot start the embedded DNS: service names will not resolve on this network',
      );
    }
    this.active.set(networkId, active);
    this.logger.info(
      {
        network: networkId,
        engineNetwork: engine.engineName,
        gateway: engine.gateway,
        bridge: engine.bridge,
      },
      'network up on this node',
    );
    return active;
  }

  private async shutDown(active: ActiveNetwork): Promise<void> {
    await active.dns?.close();
    await active.vips.close();
  }

  private async onDirectory(): Promise<void> {
    await this.syncAll();
    await this.collect();
  }

  /** DNS records, VIP listeners and kernel rules of every active network, from the directory. */
  private async syncAll(): Promise<void> {
    const services = [...this.options.directory.current().values()].sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    const routes: VipRoute[] = [];
    for (const [networkId, active] of this.active) {
      const attached = services.flatMap((s) => {
        const attachment = s.attachments.find((a) => a.networkId === networkId);
        return attachment ? [{ service: s, attachment }] : [];
      });
      const records = new Map<string, string[]>();
      const add = (name: string, vip: string) => {
        const key = name.toLowerCase();
        if (!records.has(key)) records.set(key, [vip]);
      };
      for (const { service, attachment } of attached) {
        for (const name of [service.name, ...attachment.aliases]) {
          add(name, attachment.vip);
          if (attachment.networkName) add(`${name}.${attachment.networkName}`, attachment.vip);
        }
      }
      active.records = records;
      for (const { service, attachment } of attached) {
        const ports = await this.syncListener(networkId, active, service);
        for (const port of ports)
          routes.push({
            bridge: active.engine.bridge,
            vip: attachment.vip,
            protocol: port.protocol,
            port: port.targetPort,
            toAddress: active.engine.gateway,
            toPort: port.localPort,
          });
      }
      const current = new Set(attached.map((a) => a.service.serviceId));
      for (const serviceId of [...active.services]) {
        if (current.has(serviceId)) continue;
        active.services.delete(serviceId);
        for (const key of [...active.localPorts.keys()])
          if (key.startsWith(`${serviceId}/`)) active.localPorts.delete(key);
        await active.vips.removeService(serviceId);
      }
    }
    if (this.nft) {
      try {
        await this.nft.apply(routes);
      } catch (err) {
        this.logger.error({ err }, 'applying the VIP rules failed: VIPs may not answer inside containers');
      }
    }
  }

  /** The service's VIP listener on this network's gateway; returns the ports it listens on. */
  private async syncListener(
    networkId: string,
    active: ActiveNetwork,
    service: NetworkedService,
  ): Promise<Array<{ protocol: 'tcp' | 'udp'; targetPort: number; localPort: number }>> {
    const ports = service.ports.map((p) => {
      const key = `${service.serviceId}/${p.protocol}/${p.targetPort}`;
      let localPort = active.localPorts.get(key);
      if (localPort === undefined) {
        localPort = active.nextPort++;
        active.localPorts.set(key, localPort);
      }
      return { ...p, localPort };
    });
    const status = await active.vips.setService(service.serviceId, {
      name: service.name,
      ports: ports.map((p) => ({
        protocol: p.protocol,
        publishedPort: p.localPort,
        targetPort: p.targetPort,
        mode: 'ingress' as const,
      })),
      drainMs: service.drainMs,
    });
    await active.vips.setBackends(
      service.serviceId,
      service.backends.map((b) => ({
        taskId: b.taskId,
        address: b.address,
        ports: b.ports,
        healthy: b.healthy,
      })),
    );
    active.services.add(service.serviceId);
    for (const listener of status.listeners)
      if (listener.error)
        this.logger.warn(
          { network: networkId, service: service.name, err: listener.error },
          'VIP listener failed',
        );
    return ports.filter((p) =>
      status.listeners.some(
        (l) => l.listening && l.protocol === p.protocol && l.publishedPort === p.localPort,
      ),
    );
  }

  /** Takes down networks no task here uses, and removes the engine's network once it has no container. */
  private async collect(): Promise<void> {
    const existing = this.options.directory.networks();
    for (const [networkId, active] of [...this.active]) {
      const users = this.users.get(networkId);
      const removedFromCluster = existing?.has(networkId) === false;
      if (users && users.size > 0 && !removedFromCluster) continue;
      // Containers of a previous run (adopted) or not yet removed keep the network: the engine says.
      if (!(await this.engine.remove(networkId))) continue;
      this.active.delete(networkId);
      this.users.delete(networkId);
      await this.shutDown(active);
      this.logger.info(
        { network: networkId, engineNetwork: active.engine.engineName },
        'network down on this node',
      );
    }
    await this.syncAll();
  }
}

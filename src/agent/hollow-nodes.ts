// Many hollow worker nodes in one process, for scale runs (the way Kubernetes tests scale with
// hollow kubelets): each node is a real Agent with its own session, heartbeats, assignments stream
// and status reports, over a HollowExecutor; all of them share one HollowEngine (and its one timer).
//
// Two ways to give each node an identity:
//  - `joinToken`: every node joins through the cluster CA (joinCluster) and talks mTLS with its own
//    certificate, exactly as `orch join` would. Costs one key pair and one CA signature per node.
//  - `insecureIdentity: true` (TEST-ONLY SHORTCUT): plaintext loopback with the node ID claimed in
//    call metadata. Only a dispatcher built with `identify: metadataIdentity()` accepts it — never a
//    real manager, whose mTLS server refuses plaintext. Lets one process start 1,000 nodes in seconds.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { silentLogger } from '../common/logger';
import { joinCluster } from '../manager/ca/ca-client';
import { NodeCertificateProvider, type NodeTLSMaterial } from '../manager/ca/node-certificate-provider';
import { createNodeChannelCredentials, NODE_CHANNEL_OPTIONS } from '../manager/ca/tls-credentials';
import { insecureNodeClientOptions } from '../manager/dispatcher/insecure-identity';
import { Agent, type AgentOptions } from './agent';
import { HollowEngine, HollowExecutor, type HollowExecutorOptions } from './executor';

export interface HollowNodesOptions {
  count: number;
  /**
   * Manager addresses (host:port); the agents learn the rest from their sessions. Node i tries them
   * starting from the (i mod n)-th, so first contacts spread over every manager as after joins
   * through different managers.
   */
  managers: readonly string[];
  /** Join every node through the CA with this (worker) token: real certificates, mTLS. */
  joinToken?: string;
  /**
   * How node `index` gets its certificate when joinToken is given (default: one joinCluster call
   * through manager index mod n). HollowJoiner.join (hollow-join.ts) adds retries for loaded clusters.
   */
  join?: (index: number, signal?: AbortSignal) => Promise<NodeTLSMaterial>;
  /** Test-only: plaintext with identities in metadata (see the header). Exclusive with joinToken. */
  insecureIdentity?: boolean;
  /** Node IDs for insecure identities: `${prefix}${i}` (default "hollow-"). */
  nodeIdPrefix?: string;
  /** Shared by every node (default: a new one, closed by close()). */
  engine?: HollowEngine;
  behaviour?: HollowExecutorOptions['behaviour'];
  /** Anything else every agent gets (status batching, back-off...). */
  agentOptions?: Partial<Omit<AgentOptions, 'executor' | 'managers' | 'credentials'>>;
  /**
   * The address node `index` puts in its certificate request. Hollow nodes serve nothing, so the
   * default is nominal: 127.0.0.1 with a distinct port per node.
   */
  advertiseAddr?: (index: number) => string;
  /** Concurrent joins (key generation and signing): default 16. */
  joinConcurrency?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface HollowNode {
  readonly nodeId: string;
  readonly agent: Agent;
  readonly executor: HollowExecutor;
}

export interface HollowNodes {
  readonly engine: HollowEngine;
  readonly nodes: readonly HollowNode[];
  /**
   * Kills some nodes the way a crashed host dies: their agents stop (no more heartbeats) and their
   * simulated containers vanish with them.
   */
  kill(nodeIds: Iterable<string>): Promise<void>;
  /** Stops every agent (and the engine, if this call created it). */
  close(): Promise<void>;
}

interface NodeIdentitySetup {
  index: number;
  nodeId: string;
  credentials: () => grpc.ChannelCredentials;
  clientOptions: grpc.ClientOptions;
}

async function joinedIdentity(options: HollowNodesOptions, index: number): Promise<NodeIdentitySetup> {
  const material = options.join
    ? await options.join(index, options.signal)
    : await joinCluster({
        managerAddr: options.managers[index % options.managers.length]!,
        token: options.joinToken!,
        advertiseAddr: options.advertiseAddr?.(index) ?? `127.0.0.1:${20_000 + (index % 40_000)}`,
        signal: options.signal,
      });
  const provider = new NodeCertificateProvider(material);
  const credentials = createNodeChannelCredentials(provider);
  return {
    index,
    nodeId: material.nodeId,
    credentials: () => credentials,
    clientOptions: { ...NODE_CHANNEL_OPTIONS },
  };
}

function insecureIdentity(options: HollowNodesOptions, index: number): NodeIdentitySetup {
  const nodeId = `${options.nodeIdPrefix ?? 'hollow-'}${index}`;
  const credentials = grpc.credentials.createInsecure();
  // A channel option of its own gives each node its own connection, as separate hosts would have:
  // grpc-js shares one connection between channels with equal target, options and credentials.
  return {
    index,
    nodeId,
    credentials: () => credentials,
    clientOptions: { ...insecureNodeClientOptions(nodeId), 'orch.hollow_node': nodeId },
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Starts `count` hollow nodes; resolves once every agent has started (not necessarily connected). */
export async function startHollowNodes(options: HollowNodesOptions): Promise<HollowNodes> {
  if ((options.joinToken === undefined) === (options.insecureIdentity !== true))
    throw new Error('startHollowNodes: give exactly one of joinToken or insecureIdentity');
  if (options.managers.length === 0) throw new Error('startHollowNodes: no manager address');
  const ownEngine = options.engine === undefined;
  const engine = options.engine ?? new HollowEngine();
  const logger = (options.logger ?? silentLogger()).child({ module: 'hollow-nodes' });
  const nodes: HollowNode[] = [];

  const startNode = (identity: NodeIdentitySetup) => {
    const executor = new HollowExecutor({ nodeId: identity.nodeId, engine, behaviour: options.behaviour });
    const agent = new Agent({
      statusBatchDelayMs: 50,
      ...options.agentOptions,
      executor,
      managers: rotate(options.managers, identity.index),
      credentials: identity.credentials,
      clientOptions: { ...identity.clientOptions, ...options.agentOptions?.clientOptions },
      logger: options.agentOptions?.logger ?? silentLogger(),
    });
    agent.start();
    nodes.push({ nodeId: identity.nodeId, agent, executor });
  };

  const close = async (subset: readonly HollowNode[]) => {
    await Promise.all(subset.map((n) => n.agent.close().then(() => n.executor.close())));
  };

  try {
    if (options.insecureIdentity) {
      for (let i = 0; i < options.count; i++) startNode(insecureIdentity(options, i));
    } else {
      let next = 0;
      const worker = async () => {
        while (next < options.count) {
          options.signal?.throwIfAborted();
          startNode(await joinedIdentity(options, next++));
        }
      };
      await Promise.all(
        Array.from({ length: Math.min(options.joinConcurrency ?? 16, options.count) }, worker),
      );
    }
  } catch (err) {
    await close(nodes);
    if (ownEngine) engine.close();
    throw err;
  }
  logger.info({ count: nodes.length }, 'hollow nodes started');

  return {
    engine,
    nodes,
    async kill(nodeIds) {
      const wanted = new Set(nodeIds);
      const victims = nodes.filter((n) => wanted.has(n.nodeId));
      await close(victims);
      for (const victim of victims) {
        const containers = engine.containers(victim.nodeId);
        for (const container of containers.values())
          if (container.timer) engine.scheduler.cancel(container.timer);
        containers.clear();
      }
    },
    async close() {
      await close(nodes);
      if (ownEngine) engine.close();
    },
  };
}

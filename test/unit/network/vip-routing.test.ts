// The pure parts of a node's VIP routing: the nftables ruleset, which ports a VIP forwards and where
// its backends are (the network directory), how a network-attached task's container is created.

import { dockerCreateOptions } from '../../../src/agent/executor/docker-container-spec';
import { defaultTaskRunSpec, executorTaskFromProto } from '../../../src/agent/executor/task-spec';
import { engineNetworkName } from '../../../src/network/engine-networks';
import { networkDirectoryFromStore } from '../../../src/network/network-directory';
import { parseExposedPort, withExposedPorts } from '../../../src/network/networked-executor';
import { renderVipRuleset, vipTableName } from '../../../src/network/vip-nftables';
import type { Network, Node, Service, Task } from '../../../src/store';

describe('VIP nftables rules', () => {
  it('DNATs a VIP port arriving from this node bridge to the listener on the gateway, in one atomic table swap', () => {
    const table = vipTableName('node-1.abc');
    expect(table).toBe('orch_net_node_1_abc');
    const script = renderVipRuleset(table, [
      {
        bridge: 'br-2222',
        vip: '10.200.0.3',
        protocol: 'udp',
        port: 53,
        toAddress: '172.18.0.1',
        toPort: 20001,
      },
      {
        bridge: 'br-1111',
        vip: '10.200.0.2',
        protocol: 'tcp',
        port: 80,
        toAddress: '172.18.0.1',
        toPort: 20000,
      },
    ]);
    expect(script).toBe(
      [
        'table ip orch_net_node_1_abc {}',
        'delete table ip orch_net_node_1_abc',
        'table ip orch_net_node_1_abc {',
        '  chain vip_prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    iifname "br-1111" ip daddr 10.200.0.2 tcp dport 80 dnat ip to 172.18.0.1:20000',
        '    iifname "br-2222" ip daddr 10.200.0.3 udp dport 53 dnat ip to 172.18.0.1:20001',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('refuses what it cannot render safely: odd interface names, IPv6', () => {
    const route = {
      bridge: 'br-1',
      vip: '10.200.0.2',
      protocol: 'tcp' as const,
      port: 80,
      toAddress: '172.18.0.1',
      toPort: 1,
    };
    expect(() => renderVipRuleset('t', [{ ...route, bridge: 'br-1"; drop' }])).toThrow('invalid bridge name');
    expect(() => renderVipRuleset('t', [{ ...route, vip: 'fd00::1' }])).toThrow('IPv4 only');
  });
});

describe('network directory', () => {
  const network = {
    meta: { id: 'net1234567890' },
    spec: { name: 'appnet' },
    ipam: [{ subnet: '10.200.0.0/24' }],
  } as unknown as Network;
  const node = (id: string, addr: string, state = 'NODE_STATE_READY') =>
    ({
      meta: { id },
      status: { state, addr: `${addr}:4242` },
      description: { meshAddr: '' },
    }) as unknown as Node;
  const service = {
    meta: { id: 'svc-web' },
    spec: {
      name: 'web',
      networks: [{ target: 'appnet', aliases: ['www'] }],
      container: { stopGracePeriodMs: 2000 },
    },
    endpoint: { virtualIps: [{ networkId: 'net1234567890', addr: '10.200.0.2/24' }], ports: [] },
  } as unknown as Service;
  const task = (id: string, nodeId: string, state: string, ports: Array<[number, number]>) =>
    ({
      meta: { id },
      serviceId: 'svc-web',
      nodeId,
      desiredState: 'TASK_STATE_RUNNING',
      status: {
        state,
        ports: ports.map(([target, host]) => ({
          protocol: 'PORT_PROTOCOL_TCP',
          targetPort: target,
          publishedPort: host,
        })),
      },
    }) as unknown as Task;

  it('lists each attached service with its VIP, aliases, bound target ports and running backends on live nodes', () => {
    const tasks = [
      task('t2', 'n2', 'TASK_STATE_RUNNING', [[80, 32001]]),
      task('t1', 'n1', 'TASK_STATE_RUNNING', [[80, 32000]]),
      task('t3', 'n3', 'TASK_STATE_RUNNING', [[80, 32002]]), // node down
      task('t4', 'n1', 'TASK_STATE_STARTING', []),
    ];
    const nodes = new Map([
      ['n1', node('n1', '127.0.0.2')],
      ['n2', node('n2', '127.0.0.3')],
      ['n3', node('n3', '127.0.0.4', 'NODE_STATE_DOWN')],
    ]);
    const directory = networkDirectoryFromStore({
      services: {
        list: () => [service, { ...service, meta: { id: 'plain' }, endpoint: null } as unknown as Service],
      },
      tasks: { findByService: (id) => (id === 'svc-web' ? tasks : []) },
      nodes: { get: (id) => nodes.get(id) },
      networks: { get: (id) => (id === 'net1234567890' ? network : undefined), list: () => [network] },
    });
    expect([...directory.keys()]).toEqual(['svc-web']);
    expect(directory.get('svc-web')).toEqual({
      serviceId: 'svc-web',
      name: 'web',
      drainMs: 2000,
      attachments: [
        { networkId: 'net1234567890', networkName: 'appnet', vip: '10.200.0.2', aliases: ['www'] },
      ],
      ports: [{ protocol: 'tcp', targetPort: 80 }],
      backends: [
        {
          taskId: 't1',
          nodeId: 'n1',
          address: '127.0.0.2',
          ports: [{ protocol: 'tcp', targetPort: 80, port: 32000 }],
          healthy: true,
        },
        {
          taskId: 't2',
          nodeId: 'n2',
          address: '127.0.0.3',
          ports: [{ protocol: 'tcp', targetPort: 80, port: 32001 }],
          healthy: true,
        },
      ],
    });
  });
});

describe('network-attached containers', () => {
  it('names engine networks per network and node', () => {
    expect(engineNetworkName('abcdefghijklmnop', 'node0123456789xyz')).toBe('orch-abcdefghijkl-node01234567');
  });

  it('binds exposed ports the task does not bind yet on the mesh address', () => {
    expect(parseExposedPort('53/udp')).toEqual({ targetPort: 53, protocol: 'udp' });
    expect(parseExposedPort('80')).toEqual({ targetPort: 80, protocol: 'tcp' });
    expect(parseExposedPort('70000/tcp')).toBeUndefined();
    expect(
      withExposedPorts(
        [{ targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.2', hostPort: 0 }],
        ['80/tcp', '443/tcp', 'x'],
        '127.0.0.2',
      ),
    ).toEqual([
      { targetPort: 80, protocol: 'tcp', hostIp: '127.0.0.2', hostPort: 0 },
      { targetPort: 443, protocol: 'tcp', hostIp: '127.0.0.2', hostPort: 0 },
    ]);
  });

  it('carries the allocator attachments into the executor task', () => {
    const task = executorTaskFromProto({
      meta: { id: 't1' },
      serviceId: 's1',
      nodeId: 'n1',
      slot: 1,
      desiredState: 'TASK_STATE_RUNNING',
      spec: { name: 'web', container: { image: 'orch/busybox:latest' } },
      networks: [{ networkId: 'net1', addresses: [], aliases: ['www'] }],
    } as unknown as Parameters<typeof executorTaskFromProto>[0]);
    expect(task.spec.attachments).toEqual([{ networkId: 'net1', aliases: ['www'] }]);
    expect(task.spec.networks).toEqual([]);
  });

  it('creates the container on the node engine network with the embedded DNS and no service-name alias', () => {
    const spec = defaultTaskRunSpec('orch/busybox:latest', {
      networks: ['orch-net1-node1'],
      dns: ['172.18.0.1'],
    });
    const options = dockerCreateOptions({
      id: 't1',
      serviceId: 's1',
      serviceName: 'web',
      slot: 1,
      nodeId: 'node1',
      desiredState: 'TASK_STATE_RUNNING',
      status: { state: 'TASK_STATE_NEW', message: '', err: '', exitCode: 0, containerId: '', timestampMs: 0 },
      spec,
    });
    expect(options.HostConfig?.NetworkMode).toBe('orch-net1-node1');
    expect(options.HostConfig?.Dns).toEqual(['172.18.0.1']);
    expect(options.NetworkingConfig).toEqual({ EndpointsConfig: { 'orch-net1-node1': { Aliases: [] } } });
  });
});

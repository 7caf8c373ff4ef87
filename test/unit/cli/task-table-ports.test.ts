import type { Task__Output } from '../../../src/api/gen/types/orch/objects/Task';
import { formatPorts, hostModePorts } from '../../../src/cli/service/task-table';

function task(): Task__Output {
  return {
    endpoint: {
      ports: [
        {
          protocol: 'PORT_PROTOCOL_TCP',
          targetPort: 80,
          publishedPort: 8080,
          publishMode: 'PUBLISH_MODE_INGRESS',
        },
        {
          protocol: 'PORT_PROTOCOL_UDP',
          targetPort: 53,
          publishedPort: 5353,
          publishMode: 'PUBLISH_MODE_HOST',
        },
      ],
    },
    status: {
      // What the executor reports: every bound port, the ingress one on a dynamic host port.
      ports: [
        {
          protocol: 'PORT_PROTOCOL_TCP',
          targetPort: 80,
          publishedPort: 32768,
          publishMode: 'PUBLISH_MODE_HOST',
        },
        {
          protocol: 'PORT_PROTOCOL_UDP',
          targetPort: 53,
          publishedPort: 5353,
          publishMode: 'PUBLISH_MODE_HOST',
        },
      ],
    },
  } as unknown as Task__Output;
}

describe('service ps PORTS column', () => {
  it('shows the host-mode ports a task bound, not the dynamic ports of its ingress ports', () => {
    expect(formatPorts(hostModePorts(task()))).toBe('*:5353->53/udp');
  });

  it('is empty for a task of a service that publishes only through the mesh', () => {
    const ingressOnly = task();
    ingressOnly.endpoint!.ports = ingressOnly.endpoint!.ports.slice(0, 1);
    expect(hostModePorts(ingressOnly)).toEqual([]);
  });
});

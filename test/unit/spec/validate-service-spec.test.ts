import type { ContainerSpec__Output } from '../../../src/api/gen/types/orch/objects/ContainerSpec';
import type { PortConfig__Output } from '../../../src/api/gen/types/orch/objects/PortConfig';
import type { ServiceSpec__Output } from '../../../src/api/gen/types/orch/objects/ServiceSpec';
import { SpecError, validateServiceSpec } from '../../../src/manager/spec';

function validSpec(): ServiceSpec__Output {
  return {
    name: 'web',
    labels: {},
    // Only the fields validation reads; the wire type carries many more.
    container: { image: 'orch/busybox:latest', stopGracePeriodMs: 10_000 } as ContainerSpec__Output,
    resources: {
      limits: { nanoCpus: 2_000_000_000, memoryBytes: 512 * 2 ** 20, pids: 0 },
      reservations: { nanoCpus: 500_000_000, memoryBytes: 128 * 2 ** 20, pids: 0 },
    },
    placement: {
      constraints: ['node.role==worker'],
      spreadPreferences: ['node.labels.zone'],
      maxReplicasPerNode: 2,
    },
    restartPolicy: {
      condition: 'RESTART_CONDITION_ON_FAILURE',
      delayMs: 5000,
      maxAttempts: 3,
      windowMs: 60_000,
    },
    mode: 'replicated',
    replicated: { replicas: 3 },
  } as ServiceSpec__Output;
}

function port(targetPort: number, publishedPort: number): PortConfig__Output {
  return {
    name: '',
    protocol: 'PORT_PROTOCOL_TCP',
    targetPort,
    publishedPort,
    publishMode: 'PUBLISH_MODE_INGRESS',
  };
}

function problemWith(mutate: (spec: ServiceSpec__Output) => void): string {
  const spec = validSpec();
  mutate(spec);
  try {
    validateServiceSpec(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected the spec to be rejected');
}

describe('validateServiceSpec', () => {
  it('accepts a complete replicated spec and a global one', () => {
    expect(() => validateServiceSpec(validSpec())).not.toThrow();
    const global = validSpec();
    global.mode = 'global';
    delete global.replicated;
    global.global = {};
    global.placement!.maxReplicasPerNode = 0;
    expect(() => validateServiceSpec(global)).not.toThrow();
  });

  it('accepts jobs', () => {
    const job = validSpec();
    job.mode = 'replicatedJob';
    delete job.replicated;
    job.replicatedJob = { maxConcurrent: 2, totalCompletions: 10 };
    expect(() => validateServiceSpec(job)).not.toThrow();
  });

  it('rejects two modes at once', () => {
    expect(() => validateServiceSpec({ ...validSpec(), global: {} })).toThrow(
      'mode: a service has one mode, got replicated and global',
    );
  });

  it('accepts the same port number published once over TCP and once over UDP', () => {
    const spec = validSpec();
    spec.endpoint = {
      mode: 'RESOLUTION_MODE_VIP',
      ports: [port(53, 53), { ...port(53, 53), protocol: 'PORT_PROTOCOL_UDP' }],
    };
    expect(() => validateServiceSpec(spec)).not.toThrow();
  });

  it('accepts zero replicas', () => {
    expect(() => validateServiceSpec({ ...validSpec(), replicated: { replicas: 0 } })).not.toThrow();
  });

  it.each<[string, (spec: ServiceSpec__Output) => void, string]>([
    [
      'a missing name',
      (s) => {
        s.name = '';
      },
      'name: a service name is required',
    ],
    [
      'a name with a dot',
      (s) => {
        s.name = 'web.1';
      },
      'name: invalid service name "web.1"',
    ],
    [
      'a missing image',
      (s) => {
        s.container!.image = ' ';
      },
      'container.image: an image is required',
    ],
    [
      'negative replicas',
      (s) => {
        s.replicated = { replicas: -1 };
      },
      'replicated.replicas: must be a whole number of at least 0, got "-1"',
    ],
    [
      'fractional replicas',
      (s) => {
        s.replicated = { replicas: 1.5 };
      },
      'replicated.replicas: must be a whole number',
    ],
    [
      'no mode',
      (s) => {
        delete s.mode;
        delete s.replicated;
      },
      'mode: set replicated (with replicas), global, replicatedJob or globalJob',
    ],
    [
      'a reservation above the limit',
      (s) => {
        s.resources!.reservations!.memoryBytes = 2 ** 30;
      },
      'resources.reservations.memoryBytes: reservation of 1GiB exceeds the limit of 512MiB',
    ],
    [
      'a CPU reservation above the limit',
      (s) => {
        s.resources!.reservations!.nanoCpus = 3_000_000_000;
      },
      'resources.reservations.nanoCpus: reservation of 3 CPUs exceeds the limit of 2',
    ],
    [
      'a tiny memory limit',
      (s) => {
        s.resources!.limits!.memoryBytes = 1024;
        s.resources!.reservations!.memoryBytes = 0;
      },
      'resources.limits.memoryBytes: 1KiB is below the minimum memory limit of 6MiB',
    ],
    [
      'a bad constraint',
      (s) => {
        s.placement!.constraints.push('node.labels.zone=east');
      },
      'placement.constraints[1]: invalid constraint "node.labels.zone=east": expected KEY==VALUE or KEY!=VALUE',
    ],
    [
      'a bad preference',
      (s) => {
        s.placement!.spreadPreferences = ['spread=node.id'];
      },
      'placement.spreadPreferences[0]: invalid placement preference "spread=node.id"',
    ],
    [
      'an unknown restart condition',
      (s) => {
        s.restartPolicy!.condition = 'always' as never;
      },
      'restartPolicy.condition: invalid condition "always": expected none, on-failure or any',
    ],
    [
      'a negative restart delay',
      (s) => {
        s.restartPolicy!.delayMs = -1;
      },
      'restartPolicy.delayMs: must be a whole number',
    ],
    [
      'a target port out of range',
      (s) => {
        s.endpoint = { mode: 'RESOLUTION_MODE_VIP', ports: [port(0, 8080)] };
      },
      'endpoint.ports[0].targetPort: must be a port between 1 and 65535, got "0"',
    ],
    [
      'a published port out of range',
      (s) => {
        s.endpoint = { mode: 'RESOLUTION_MODE_VIP', ports: [port(80, 70000)] };
      },
      'endpoint.ports[0].publishedPort: must be a port between 1 and 65535 (or 0 to have one assigned)',
    ],
    [
      'the same port published twice',
      (s) => {
        s.endpoint = { mode: 'RESOLUTION_MODE_VIP', ports: [port(80, 8080), port(81, 0), port(82, 8080)] };
      },
      'endpoint.ports[2].publishedPort: port 8080/tcp is already published by endpoint.ports[0]',
    ],
    [
      'a bad healthcheck test',
      (s) => {
        s.container = {
          ...s.container!,
          healthcheck: { test: ['curl'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 },
        };
      },
      'container.healthcheck.test: must start with NONE, CMD or CMD-SHELL, got "curl"',
    ],
    [
      'a failure ratio above 1',
      (s) => {
        s.updateConfig = {
          parallelism: 1,
          delayMs: 0,
          failureAction: 'UPDATE_FAILURE_ACTION_PAUSE',
          monitorMs: 0,
          maxFailureRatio: 1.5,
          order: 'UPDATE_ORDER_STOP_FIRST',
        };
      },
      'updateConfig.maxFailureRatio: must be between 0 and 1, got "1.5"',
    ],
    [
      'max replicas on a global service',
      (s) => {
        s.mode = 'global';
        delete s.replicated;
        s.global = {};
      },
      'placement.maxReplicasPerNode: only applies to replicated services',
    ],
  ])('rejects %s naming the field', (_what, mutate, expected) => {
    expect(problemWith(mutate)).toContain(expected);
  });
});

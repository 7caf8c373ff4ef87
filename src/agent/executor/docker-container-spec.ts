// Translates a task into the Docker engine's container-create request, the way Swarm's container
// adapter does: command → Entrypoint and args → Cmd, limits → HostConfig, the engine's own restart
// policy off (orch restarts tasks by creating new ones), orch's labels on the container and on the
// volumes the engine creates for it, the node's engine network and embedded DNS when the task is on an
// orch network. Pure: no engine calls, so it is tested without Docker.
import type Docker from 'dockerode';
import { taskLabels } from './docker-labels';
import { containerName, type ExecutorTask, type MountSpec, type PortSpec } from './task-spec';

/** Docker's port key: `80/tcp`. */
export function portKey(port: Pick<PortSpec, 'targetPort' | 'protocol'>): string {
  return `${port.targetPort}/${port.protocol ?? 'tcp'}`;
}

function dockerMount(mount: MountSpec, volumeLabels: Record<string, string>): Docker.MountSettings {
  // Built loosely: the engine takes every option as optional, @types/dockerode marks some required.
  const settings: Record<string, unknown> = {
    Type: mount.type,
    Target: mount.target,
    ReadOnly: mount.readOnly ?? false,
  };
  if (mount.source) settings.Source = mount.source;
  if (mount.type === 'volume') {
    settings.VolumeOptions = {
      Labels: { ...mount.volumeLabels, ...volumeLabels },
      ...(mount.volumeDriver ? { DriverConfig: { Name: mount.volumeDriver, Options: {} } } : {}),
    };
  }
  if (mount.type === 'tmpfs') {
    const tmpfs: Record<string, number> = {};
    if (mount.tmpfsSizeBytes !== undefined) tmpfs.SizeBytes = mount.tmpfsSizeBytes;
    if (mount.tmpfsMode !== undefined) tmpfs.Mode = mount.tmpfsMode;
    if (Object.keys(tmpfs).length > 0) settings.TmpfsOptions = tmpfs;
  }
  return settings as unknown as Docker.MountSettings;
}

function portBindings(ports: PortSpec[]): { exposed: Record<string, object>; bindings: Docker.PortMap } {
  const exposed: Record<string, object> = {};
  const bindings: Docker.PortMap = {};
  for (const port of ports) {
    const key = portKey(port);
    exposed[key] = {};
    const hostPort = port.hostPort && port.hostPort > 0 ? String(port.hostPort) : '';
    bindings[key] = [...(bindings[key] ?? []), { HostIp: port.hostIp ?? '', HostPort: hostPort }];
  }
  return { exposed, bindings };
}

/** The create request for `task`'s container on node `task.nodeId`. */
export function dockerCreateOptions(task: ExecutorTask): Docker.ContainerCreateOptions {
  const spec = task.spec;
  const orchLabels = taskLabels({
    nodeId: task.nodeId,
    serviceId: task.serviceId,
    taskId: task.id,
    serviceName: task.serviceName,
    slot: task.slot,
  });
  const volumeLabels = taskLabels({ nodeId: task.nodeId, serviceId: task.serviceId, taskId: task.id });
  const { exposed, bindings } = portBindings(spec.ports);
  const [primaryNetwork] = spec.networks;

  const hostConfig: Docker.HostConfig = {
    RestartPolicy: { Name: 'no' },
    Mounts: spec.mounts.map((m) => dockerMount(m, volumeLabels)),
    PortBindings: bindings,
  };
  if (spec.limits.nanoCpus) hostConfig.NanoCpus = spec.limits.nanoCpus;
  if (spec.limits.memoryBytes) hostConfig.Memory = spec.limits.memoryBytes;
  if (spec.limits.pids) hostConfig.PidsLimit = spec.limits.pids;
  if (primaryNetwork) hostConfig.NetworkMode = primaryNetwork;
  // The node's embedded DNS for the network: it knows every service of the network, cluster-wide.
  if (spec.dns.length > 0) hostConfig.Dns = [...spec.dns];

  const options: Docker.ContainerCreateOptions = {
    name: containerName(task),
    Image: spec.image,
    Env: spec.env,
    Labels: { ...spec.labels, ...orchLabels },
    ExposedPorts: exposed,
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    // Docker's own `docker stop` (without -t) then honours the task's grace period too.
    StopTimeout: Math.ceil(spec.stopGracePeriodMs / 1000),
    HostConfig: hostConfig,
  };
  // Swarm semantics: Command replaces the entrypoint (and with it the image's CMD); Args alone
  // replace only the CMD, keeping the image's entrypoint.
  if (spec.command.length > 0) options.Entrypoint = spec.command;
  if (spec.args.length > 0) options.Cmd = spec.args;
  if (spec.workdir) options.WorkingDir = spec.workdir;
  if (spec.user) options.User = spec.user;
  if (spec.hostname) options.Hostname = spec.hostname;
  if (spec.stopSignal) options.StopSignal = spec.stopSignal;
  if (spec.tty) options.Tty = true;
  if (spec.healthcheck) {
    const health = spec.healthcheck;
    const ns = (ms: number | undefined) => (ms === undefined ? undefined : ms * 1_000_000);
    options.Healthcheck = {
      Test: health.test,
      Interval: ns(health.intervalMs),
      Timeout: ns(health.timeoutMs),
      Retries: health.retries,
      StartPeriod: ns(health.startPeriodMs),
    };
  }
  if (primaryNetwork) {
    // On an orch network (the node's embedded DNS serves it) no service-name alias: the engine's DNS
    // would answer the name with this node's containers only, where the embedded DNS gives the VIP.
    // On a plain engine network the alias is the only discovery there is.
    const aliases = spec.dns.length === 0 && task.serviceName ? [task.serviceName] : [];
    options.NetworkingConfig = { EndpointsConfig: { [primaryNetwork]: { Aliases: aliases } } };
  }
  return options;
}

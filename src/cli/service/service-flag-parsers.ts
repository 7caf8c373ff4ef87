// Parsers of the service flags that have no counterpart in src/manager/spec: `--publish`, `--mount`,
// `-e`/`--env-file` and `--since`. Each throws a SpecError naming the flag and the accepted form.
import { readFileSync } from 'node:fs';
import type { Mount } from '../../api/gen/types/orch/objects/Mount';
import type { PortConfig } from '../../api/gen/types/orch/objects/PortConfig';
import { parseDurationMs, parseMemoryBytes, SpecError } from '../../manager/spec';

const PUBLISH_FORM =
  'expected PUBLISHED:TARGET[/PROTOCOL] (e.g. 8080:80) or published=8080,target=80[,protocol=tcp|udp][,mode=ingress|host]';
const MOUNT_FORM =
  'expected type=bind|volume|tmpfs,source=SRC,target=DST[,readonly] (e.g. type=bind,source=/data,target=/data)';

/** `8080:80`, `8080:80/udp`, `80` (published port assigned), or the long `published=…,target=…` form. */
export function parsePublish(text: string, flag = '--publish'): PortConfig {
  const value = text.trim();
  const bad = (why: string) =>
    new SpecError(flag, `invalid port ${JSON.stringify(text)}: ${why}; ${PUBLISH_FORM}`);
  if (value.includes('=')) {
    const port: PortConfig = { protocol: 'PORT_PROTOCOL_TCP', publishMode: 'PUBLISH_MODE_INGRESS' };
    for (const part of value.split(',')) {
      const [key = '', raw = ''] = part.split('=', 2).map((s) => s.trim());
      switch (key.toLowerCase()) {
        case 'published':
          port.publishedPort = portNumber(raw, bad);
          break;
        case 'target':
          port.targetPort = portNumber(raw, bad);
          break;
        case 'protocol':
          port.protocol = protocol(raw, bad);
          break;
        case 'mode':
          if (raw !== 'ingress' && raw !== 'host')
            throw bad(`mode ${JSON.stringify(raw)} is not ingress or host`);
          port.publishMode = raw === 'host' ? 'PUBLISH_MODE_HOST' : 'PUBLISH_MODE_INGRESS';
          break;
        default:
          throw bad(`unknown field ${JSON.stringify(key)}`);
      }
    }
    if (!port.targetPort) throw bad('target is required');
    return port;
  }
  const [ports = '', proto = 'tcp'] = value.split('/', 2);
  const parts = ports.split(':');
  if (parts.length > 2 || parts.some((p) => p === '')) throw bad('not a port mapping');
  const target = portNumber(parts.at(-1)!, bad);
  const published = parts.length === 2 ? portNumber(parts[0]!, bad) : 0;
  return {
    publishedPort: published,
    targetPort: target,
    protocol: protocol(proto, bad),
    publishMode: 'PUBLISH_MODE_INGRESS',
  };
}

function portNumber(raw: string, bad: (why: string) => SpecError): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 65535)
    throw bad(`${JSON.stringify(raw)} is not a port between 1 and 65535`);
  return n;
}

function protocol(raw: string, bad: (why: string) => SpecError): 'PORT_PROTOCOL_TCP' | 'PORT_PROTOCOL_UDP' {
  const p = raw.trim().toLowerCase();
  if (p !== 'tcp' && p !== 'udp') throw bad(`protocol ${JSON.stringify(raw)} is not tcp or udp`);
  return p === 'udp' ? 'PORT_PROTOCOL_UDP' : 'PORT_PROTOCOL_TCP';
}

/** The key `--publish-rm` matches ports by: `8080`, `8080/udp` or a full mapping (its published port). */
export function publishKey(port: Pick<PortConfig, 'publishedPort' | 'protocol'>): string {
  return `${port.publishedPort}/${port.protocol === 'PORT_PROTOCOL_UDP' ? 'udp' : 'tcp'}`;
}

/** `type=bind,source=/a,target=/b,readonly`, like docker's --mount (src/dst aliases, ro, tmpfs-size/mode). */
export function parseMount(text: string, flag = '--mount'): Mount {
  const bad = (why: string) =>
    new SpecError(flag, `invalid mount ${JSON.stringify(text)}: ${why}; ${MOUNT_FORM}`);
  const mount: Mount = { type: 'MOUNT_TYPE_VOLUME', readOnly: false };
  const labels: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    switch (key) {
      case 'type':
        if (!['bind', 'volume', 'tmpfs'].includes(value))
          throw bad(`type ${JSON.stringify(value)} is not bind, volume or tmpfs`);
        mount.type = `MOUNT_TYPE_${value.toUpperCase()}` as Mount['type'];
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'destination':
      case 'dst':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (eq >= 0 && !['true', 'false', '1', '0'].includes(value))
          throw bad(`readonly=${value} is not true or false`);
        mount.readOnly = eq < 0 || value === 'true' || value === '1';
        break;
      case 'volume-driver':
        mount.volumeDriver = value;
        break;
      case 'volume-label': {
        const [k = '', v = ''] = value.split('=', 2);
        labels[k] = v;
        break;
      }
      case 'tmpfs-size':
        mount.tmpfsSizeBytes = parseMemoryBytes(value, `${flag} tmpfs-size`);
        break;
      case 'tmpfs-mode':
        if (!/^[0-7]{1,4}$/.test(value))
          throw bad(`tmpfs-mode ${JSON.stringify(value)} is not an octal mode`);
        mount.tmpfsMode = Number.parseInt(value, 8);
        break;
      default:
        throw bad(`unknown field ${JSON.stringify(key)}`);
    }
  }
  if (!mount.target) throw bad('target is required');
  if (!mount.target.startsWith('/')) throw bad('target must be an absolute path');
  if (mount.type === 'MOUNT_TYPE_BIND' && !mount.source?.startsWith('/')) {
    throw bad('a bind mount needs an absolute source path');
  }
  if (mount.type === 'MOUNT_TYPE_TMPFS' && mount.source) throw bad('a tmpfs mount has no source');
  if (Object.keys(labels).length > 0) mount.volumeLabels = labels;
  return mount;
}

/** `-e KEY=VALUE`, or `-e KEY` taking KEY from this shell's environment (skipped when unset), like docker. */
export function parseEnv(values: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === 0)
      throw new SpecError('--env', `invalid variable ${JSON.stringify(value)}: expected KEY=VALUE or KEY`);
    if (eq > 0) out.push(value);
    else if (env[value] !== undefined) out.push(`${value}=${env[value]}`);
  }
  return out;
}

/** Lines of `--env-file` files: KEY=VALUE or KEY, `#` comments and blank lines skipped. */
export function readEnvFiles(paths: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const values: string[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new SpecError(
        '--env-file',
        `can't read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
    for (const line of text.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed && !trimmed.startsWith('#')) values.push(trimmed);
    }
  }
  return parseEnv(values, env);
}

/** `--since`: a relative duration (`10m`) or an RFC 3339 time / date; returns epoch milliseconds. */
export function parseSince(value: string, nowMs: number): number {
  if (/^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)/.test(value.trim())) return nowMs - parseDurationMs(value, '--since');
  const at = Date.parse(value);
  if (Number.isNaN(at)) {
    throw new SpecError(
      '--since',
      `invalid time ${JSON.stringify(value)}: expected a duration such as 10m or a time such as 2024-01-02T15:04:05Z`,
    );
  }
  return at;
}

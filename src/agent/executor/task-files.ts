// Files a task gets inside its container before it starts: Swarm's secrets (under /run/secrets)
// and configs (at their target, / by default). The data comes from the agent (the dispatcher hands
// it the secrets and configs of its tasks); this module decides where each lands and packs them
// into the tar archive the engine extracts into a created container. Nothing is written to the
// host's disk.
import type { ContainerSpec__Output } from '../../api/gen/types/orch/objects/ContainerSpec';
import type { FileTarget__Output } from '../../api/gen/types/orch/objects/FileTarget';
import { FinalExecutorError } from './errors';

export interface TaskFile {
  /** Absolute path inside the container. */
  path: string;
  data: Uint8Array;
  uid?: number;
  gid?: number;
  /** Permission bits; Swarm's default for secrets and configs is 0o444. */
  mode?: number;
}

export const SECRETS_DIR = '/run/secrets';
const DEFAULT_FILE_MODE = 0o444;

export interface FileReference {
  kind: 'secret' | 'config';
  id: string;
  name: string;
}

/** A secret or config the task references but the agent could not supply. */
export class MissingTaskFileError extends FinalExecutorError {
  override name = 'MissingTaskFileError';
  constructor(readonly reference: FileReference) {
    super(`${reference.kind} not available on this node: ${reference.name}`);
  }
}

function placed(kind: 'secret' | 'config', name: string, target: FileTarget__Output | null): string {
  const file = target?.name || name;
  if (file.startsWith('/')) return file;
  return kind === 'secret' ? `${SECRETS_DIR}/${file}` : `/${file}`;
}

/**
 * The files of a container spec's secrets and configs, with data from `lookup`. A reference the
 * lookup does not know is a MissingTaskFileError: the task cannot run as specified.
 */
export function taskFilesFromProto(
  container: Pick<ContainerSpec__Output, 'secrets' | 'configs'>,
  lookup: (reference: FileReference) => Uint8Array | undefined,
): TaskFile[] {
  const files: TaskFile[] = [];
  const add = (reference: FileReference, target: FileTarget__Output | null) => {
    const data = lookup(reference);
    if (data === undefined) throw new MissingTaskFileError(reference);
    files.push({
      path: placed(reference.kind, reference.name, target),
      data,
      uid: target?.uid ?? 0,
      gid: target?.gid ?? 0,
      mode: target?.mode || DEFAULT_FILE_MODE,
    });
  };
  for (const secret of container.secrets ?? []) {
    add({ kind: 'secret', id: secret.secretId, name: secret.secretName }, secret.file);
  }
  for (const config of container.configs ?? []) {
    add({ kind: 'config', id: config.configId, name: config.configName }, config.file);
  }
  return files;
}

const BLOCK = 512;

function writeOctal(header: Buffer, offset: number, length: number, value: number): void {
  header.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}

/** Splits a path over ustar's name (100 bytes) and prefix (155 bytes) fields. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new FinalExecutorError(`file path too long for the container archive: ${path}`);
}

/**
 * A POSIX ustar archive of `files`, paths relative to the container's root. The engine creates
 * missing parent directories itself, so existing ones keep their permissions.
 */
export function tarArchive(files: TaskFile[], mtimeMs = Date.now()): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    if (!file.path.startsWith('/') || file.path.split('/').includes('..')) {
      throw new FinalExecutorError(`file path must be absolute and without "..": ${file.path}`);
    }
    const { name, prefix } = splitName(file.path.replace(/^\/+/, ''));
    const header = Buffer.alloc(BLOCK);
    header.write(name, 0, 100, 'utf8');
    writeOctal(header, 100, 8, file.mode ?? DEFAULT_FILE_MODE);
    writeOctal(header, 108, 8, file.uid ?? 0);
    writeOctal(header, 116, 8, file.gid ?? 0);
    writeOctal(header, 124, 12, file.data.byteLength);
    writeOctal(header, 136, 12, Math.floor(mtimeMs / 1000));
    header.write('        ', 148, 8, 'ascii'); // the checksum counts its own field as spaces
    header.write('0', 156, 1, 'ascii'); // regular file
    header.write('ustar\x0000', 257, 8, 'ascii');
    header.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
    blocks.push(header, Buffer.from(file.data));
    const padding = (BLOCK - (file.data.byteLength % BLOCK)) % BLOCK;
    if (padding) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return Buffer.concat(blocks);
}

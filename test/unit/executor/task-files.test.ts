import {
  MissingTaskFileError,
  type TaskFile,
  tarArchive,
  taskFilesFromProto,
} from '../../../src/agent/executor/task-files';
import type { ContainerSpec__Output } from '../../../src/api/gen/types/orch/objects/ContainerSpec';

/** Reads back the entries of a ustar archive, checking every header's checksum. */
function readTar(archive: Buffer) {
  const entries: Array<{ path: string; mode: number; uid: number; gid: number; data: string }> = [];
  let offset = 0;
  for (;;) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const text = (start: number, length: number) =>
      header.toString('utf8', start, start + length).replace(/\0.*$/s, '');
    const octal = (start: number, length: number) => Number.parseInt(text(start, length).trim(), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    expect(octal(148, 8)).toBe(sum);
    expect(text(257, 6)).toBe('ustar');
    const prefix = text(345, 155);
    const size = octal(124, 12);
    entries.push({
      path: prefix ? `${prefix}/${text(0, 100)}` : text(0, 100),
      mode: octal(100, 8),
      uid: octal(108, 8),
      gid: octal(116, 8),
      data: archive.toString('utf8', offset + 512, offset + 512 + size),
    });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  expect(archive.length - offset).toBe(1024); // two zero blocks end it
  return entries;
}

describe('task files', () => {
  const container = {
    secrets: [
      { secretId: 's1', secretName: 'db_pass', file: null },
      { secretId: 's2', secretName: 'tls_key', file: { name: 'key.pem', uid: 10, gid: 20, mode: 0o400 } },
    ],
    configs: [
      {
        configId: 'c1',
        configName: 'nginx_conf',
        file: { name: '/etc/nginx/nginx.conf', uid: 0, gid: 0, mode: 0 },
      },
      { configId: 'c2', configName: 'motd', file: null },
    ],
  } as unknown as ContainerSpec__Output;

  it('places secrets under /run/secrets and configs at their target or under /, 0444 root by default', () => {
    const files = taskFilesFromProto(container, (ref) => Buffer.from(`${ref.kind}:${ref.id}`));
    expect(files.map((f) => [f.path, f.uid, f.gid, f.mode, Buffer.from(f.data).toString()])).toEqual([
      ['/run/secrets/db_pass', 0, 0, 0o444, 'secret:s1'],
      ['/run/secrets/key.pem', 10, 20, 0o400, 'secret:s2'],
      ['/etc/nginx/nginx.conf', 0, 0, 0o444, 'config:c1'],
      ['/motd', 0, 0, 0o444, 'config:c2'],
    ]);
  });

  it('refuses a task whose secret the node does not hold', () => {
    expect(() =>
      taskFilesFromProto(container, (ref) => (ref.id === 's2' ? undefined : Buffer.from('x'))),
    ).toThrow(new MissingTaskFileError({ kind: 'secret', id: 's2', name: 'tls_key' }));
  });

  it('packs files into a ustar archive the engine can extract', () => {
    const long = `/srv/${'d'.repeat(80)}/${'f'.repeat(60)}.txt`;
    const files: TaskFile[] = [
      { path: '/run/secrets/db_pass', data: Buffer.from('s3cret'), uid: 65534, gid: 65534, mode: 0o400 },
      { path: long, data: Buffer.alloc(700, 'a') },
    ];
    expect(readTar(tarArchive(files, 1_700_000_000_000))).toEqual([
      { path: 'run/secrets/db_pass', mode: 0o400, uid: 65534, gid: 65534, data: 's3cret' },
      { path: long.slice(1), mode: 0o444, uid: 0, gid: 0, data: 'a'.repeat(700) },
    ]);
  });

  it('refuses relative paths and paths that climb out', () => {
    expect(() => tarArchive([{ path: 'etc/x', data: Buffer.from('') }])).toThrow(/absolute/);
    expect(() => tarArchive([{ path: '/etc/../x', data: Buffer.from('') }])).toThrow(/without "\.\."/);
  });
});

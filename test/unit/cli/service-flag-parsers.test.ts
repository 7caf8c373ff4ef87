import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  parseEnv,
  parseMount,
  parsePublish,
  parseSince,
  readEnvFiles,
} from '../../../src/cli/service/service-flag-parsers';
import { SpecError } from '../../../src/manager/spec';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as Error).message;
  }
  throw new Error('expected a SpecError');
}

describe('service flag parsers', () => {
  describe('--publish', () => {
    it('reads the short forms like docker: PUBLISHED:TARGET, /udp, and a target alone', () => {
      expect(parsePublish('8080:80')).toEqual({
        publishedPort: 8080,
        targetPort: 80,
        protocol: 'PORT_PROTOCOL_TCP',
        publishMode: 'PUBLISH_MODE_INGRESS',
      });
      expect(parsePublish('53:53/udp')).toMatchObject({ protocol: 'PORT_PROTOCOL_UDP' });
      expect(parsePublish('80')).toMatchObject({ publishedPort: 0, targetPort: 80 });
    });

    it('reads the long form with protocol and host mode', () => {
      expect(parsePublish('published=8080,target=80,protocol=udp,mode=host')).toEqual({
        publishedPort: 8080,
        targetPort: 80,
        protocol: 'PORT_PROTOCOL_UDP',
        publishMode: 'PUBLISH_MODE_HOST',
      });
    });

    it('names the flag and the problem', () => {
      expect(messageOf(() => parsePublish('published=8080'))).toMatch(
        /^--publish: invalid port "published=8080": target is required; /,
      );
      expect(messageOf(() => parsePublish('70000:80'))).toMatch(/"70000" is not a port between 1 and 65535/);
      expect(messageOf(() => parsePublish('80/sctp', '--publish-add'))).toMatch(
        /^--publish-add: .*protocol "sctp" is not tcp or udp/,
      );
    });
  });

  describe('--mount', () => {
    it('reads bind, volume and tmpfs mounts with docker aliases', () => {
      expect(parseMount('type=bind,src=/srv,dst=/data,ro')).toEqual({
        type: 'MOUNT_TYPE_BIND',
        source: '/srv',
        target: '/data',
        readOnly: true,
      });
      expect(parseMount('source=cache,target=/cache,volume-driver=local,volume-label=team=web')).toEqual({
        type: 'MOUNT_TYPE_VOLUME',
        source: 'cache',
        target: '/cache',
        readOnly: false,
        volumeDriver: 'local',
        volumeLabels: { team: 'web' },
      });
      expect(parseMount('type=tmpfs,target=/run,tmpfs-size=1M,tmpfs-mode=1777')).toMatchObject({
        tmpfsSizeBytes: 1024 * 1024,
        tmpfsMode: 0o1777,
      });
    });

    it('refuses what docker refuses', () => {
      expect(messageOf(() => parseMount('type=bind,source=rel,target=/x'))).toMatch(
        /a bind mount needs an absolute source path/,
      );
      expect(messageOf(() => parseMount('type=volume,target=x'))).toMatch(/target must be an absolute path/);
      expect(messageOf(() => parseMount('type=tmpfs,source=/a,target=/x'))).toMatch(
        /a tmpfs mount has no source/,
      );
      expect(messageOf(() => parseMount('type=volume,target=/x,colour=red'))).toMatch(
        /unknown field "colour"/,
      );
    });
  });

  describe('-e and --env-file', () => {
    it('takes KEY=VALUE as is and KEY from the environment when it is set', () => {
      expect(parseEnv(['A=1', 'HOME', 'MISSING', 'B='], { HOME: '/root' })).toEqual([
        'A=1',
        'HOME=/root',
        'B=',
      ]);
      expect(messageOf(() => parseEnv(['=x']))).toBe(
        '--env: invalid variable "=x": expected KEY=VALUE or KEY',
      );
    });

    it('reads env files skipping comments and blank lines, and names an unreadable file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'orch-env-'));
      try {
        writeFileSync(join(dir, 'a.env'), '# comment\nA=1\n\n  B=two words \nUSER\n');
        expect(readEnvFiles([join(dir, 'a.env')], { USER: 'me' })).toEqual(['A=1', 'B=two words', 'USER=me']);
        expect(messageOf(() => readEnvFiles([join(dir, 'none.env')]))).toBe(
          `--env-file: can't read ${join(dir, 'none.env')}: ENOENT`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('--since', () => {
    it('takes a duration back from now or an absolute time', () => {
      expect(parseSince('10m', 1_000_000)).toBe(1_000_000 - 600_000);
      expect(parseSince('2024-01-02T15:04:05Z', 0)).toBe(Date.UTC(2024, 0, 2, 15, 4, 5));
    });
  });
});

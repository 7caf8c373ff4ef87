import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  NODE_CERTIFICATE_FILE,
  NODE_KEY_FILE,
  ROOT_CA_CERTIFICATE_FILE,
  readNodeTLSMaterial,
  writeNodeTLSMaterial,
} from '../../../src/manager/ca/certificate-files';
import { createKeyAndCertificateRequest } from '../../../src/manager/ca/certificate-request';
import { initializeCluster } from '../../../src/manager/ca/cluster-init';
import type { NodeTLSMaterial } from '../../../src/manager/ca/node-certificate-provider';
import { RootCA } from '../../../src/manager/ca/root-ca';

describe('node TLS files', () => {
  let dir: string;
  let material: NodeTLSMaterial;
  let renewed: NodeTLSMaterial;

  beforeAll(async () => {
    const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    material = init.firstManager;
    const root = await RootCA.load(init.state.rootCACertificatePem, init.state.rootCAKeyPem);
    const { csrPem, keyPem } = await createKeyAndCertificateRequest();
    const issued = await root.issueNodeCertificate({ csrPem, nodeId: material.nodeId, role: 'manager' });
    renewed = { ...material, certificatePem: issued.certificatePem, keyPem };
  });

  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'orch-ca-files-')), 'certificates');
  });

  afterEach(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('writes ca.crt, node.crt and node.key (0600) and reads the same material back', async () => {
    await writeNodeTLSMaterial(dir, material);
    expect((await stat(join(dir, NODE_KEY_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, ROOT_CA_CERTIFICATE_FILE), 'utf8')).toBe(material.rootCACertificatePem);
    await expect(readNodeTLSMaterial(dir)).resolves.toEqual(material);
  });

  it('reads nothing from a directory that has no certificates yet', async () => {
    await expect(readNodeTLSMaterial(dir)).resolves.toBeUndefined();
  });

  it('overwrites the pair on renewal', async () => {
    await writeNodeTLSMaterial(dir, material);
    await writeNodeTLSMaterial(dir, renewed);
    await expect(readNodeTLSMaterial(dir)).resolves.toEqual(renewed);
  });

  it('names the missing file when the set is incomplete', async () => {
    await writeNodeTLSMaterial(dir, material);
    await rm(join(dir, NODE_KEY_FILE));
    await expect(readNodeTLSMaterial(dir)).rejects.toThrow(`invalid certificate: ${dir} is missing node.key`);
  });

  it('refuses a key that does not match the certificate', async () => {
    await writeNodeTLSMaterial(dir, material);
    await writeFile(join(dir, NODE_KEY_FILE), renewed.keyPem);
    await expect(readNodeTLSMaterial(dir)).rejects.toThrow(
      `invalid certificate: ${join(dir, NODE_KEY_FILE)} does not match node.crt`,
    );
  });

  it('refuses a certificate ca.crt did not sign', async () => {
    const other = await initializeCluster({ advertiseAddr: '127.0.0.1:1' });
    await writeNodeTLSMaterial(dir, { ...material, rootCACertificatePem: other.state.rootCACertificatePem });
    await expect(readNodeTLSMaterial(dir)).rejects.toThrow(
      'invalid certificate: not signed by the cluster root CA',
    );
  });

  it('completes a renewal interrupted between renaming the key and the certificate', async () => {
    await writeNodeTLSMaterial(dir, material);
    // What a crash right after the key's rename leaves behind.
    await writeFile(join(dir, `${NODE_CERTIFICATE_FILE}.next`), renewed.certificatePem);
    await writeFile(join(dir, NODE_KEY_FILE), renewed.keyPem);
    await expect(readNodeTLSMaterial(dir)).resolves.toEqual(renewed);
  });

  it('keeps the old pair when a renewal was interrupted before any rename', async () => {
    await writeNodeTLSMaterial(dir, material);
    await writeFile(join(dir, `${NODE_CERTIFICATE_FILE}.next`), renewed.certificatePem);
    await writeFile(join(dir, `${NODE_KEY_FILE}.next`), renewed.keyPem);
    await expect(readNodeTLSMaterial(dir)).resolves.toEqual(material);
    await expect(stat(join(dir, `${NODE_KEY_FILE}.next`))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// A node's TLS material on disk: ca.crt, node.crt and node.key (PKCS#8, mode 0600) in one directory.
// Writes are crash-safe: the new pair is staged and fsynced, then renamed key first, certificate
// second; a reader that finds a crash between the two renames completes it, so a node never
// comes back with a key that does not match its certificate.
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidCertificateError } from './ca-errors';
import type { NodeTLSMaterial } from './node-certificate-provider';
import { verifyNodeCertificate } from './root-ca';
import { publicKeyDerOfPrivateKeyPem } from './x509-crypto';
import { x509 } from './x509-lib';

export const ROOT_CA_CERTIFICATE_FILE = 'ca.crt';
export const NODE_CERTIFICATE_FILE = 'node.crt';
export const NODE_KEY_FILE = 'node.key';
const STAGED = '.next';

async function writeFileDurably(path: string, contents: string, mode: number): Promise<void> {
  const handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
  try {
    await handle.writeFile(contents);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes all three files (the directory is created 0700 if missing). */
export async function writeNodeTLSMaterial(dir: string, material: NodeTLSMaterial): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const caPath = join(dir, ROOT_CA_CERTIFICATE_FILE);
  const certPath = join(dir, NODE_CERTIFICATE_FILE);
  const keyPath = join(dir, NODE_KEY_FILE);
  await writeFileDurably(caPath + STAGED, material.rootCACertificatePem, 0o644);
  await writeFileDurably(certPath + STAGED, material.certificatePem, 0o644);
  await writeFileDurably(keyPath + STAGED, material.keyPem, 0o600);
  await syncDirectory(dir);
  await rename(caPath + STAGED, caPath);
  await rename(keyPath + STAGED, keyPath);
  await rename(certPath + STAGED, certPath);
  await syncDirectory(dir);
}

function keyMatchesCertificate(keyPem: string, certificatePem: string): boolean {
  try {
    const certificateKey = Buffer.from(new x509.X509Certificate(certificatePem).publicKey.rawData);
    return certificateKey.equals(publicKeyDerOfPrivateKeyPem(keyPem));
  } catch {
    return false;
  }
}

/** Finishes or discards a write a crash interrupted. */
async function recoverStagedWrite(dir: string): Promise<void> {
  const certPath = join(dir, NODE_CERTIFICATE_FILE);
  const keyPath = join(dir, NODE_KEY_FILE);
  const caPath = join(dir, ROOT_CA_CERTIFICATE_FILE);
  const stagedCert = await readIfExists(certPath + STAGED);
  if (stagedCert === undefined) {
    // Crash before the certificate was staged: the old pair is intact.
    await rm(keyPath + STAGED, { force: true });
    await rm(caPath + STAGED, { force: true });
    return;
  }
  const key = await readIfExists(keyPath);
  if (!(await exists(keyPath + STAGED)) && key !== undefined && keyMatchesCertificate(key, stagedCert)) {
    // The key was renamed into place, the certificate not yet: complete the write.
    if (await exists(caPath + STAGED)) await rename(caPath + STAGED, caPath);
    await rename(certPath + STAGED, certPath);
    await syncDirectory(dir);
    return;
  }
  // Nothing was renamed yet (or the staged files are incomplete): keep the old pair.
  await rm(certPath + STAGED, { force: true });
  await rm(keyPath + STAGED, { force: true });
  await rm(caPath + STAGED, { force: true });
}

/**
 * Reads the node's material, or undefined if the directory holds none (a node that has not
 * joined). Throws InvalidCertificateError if the files are incomplete, do not belong together,
 * or the certificate was not signed by ca.crt.
 */
export async function readNodeTLSMaterial(dir: string): Promise<NodeTLSMaterial | undefined> {
  if (!(await exists(dir))) return undefined;
  await recoverStagedWrite(dir);
  const [rootCACertificatePem, certificatePem, keyPem] = await Promise.all([
    readIfExists(join(dir, ROOT_CA_CERTIFICATE_FILE)),
    readIfExists(join(dir, NODE_CERTIFICATE_FILE)),
    readIfExists(join(dir, NODE_KEY_FILE)),
  ]);
  if (rootCACertificatePem === undefined && certificatePem === undefined && keyPem === undefined)
    return undefined;
  if (rootCACertificatePem === undefined || certificatePem === undefined || keyPem === undefined) {
    const missing = [
      rootCACertificatePem === undefined && ROOT_CA_CERTIFICATE_FILE,
      certificatePem === undefined && NODE_CERTIFICATE_FILE,
      keyPem === undefined && NODE_KEY_FILE,
    ].filter(Boolean);
    throw new InvalidCertificateError(`${dir} is missing ${missing.join(', ')}`);
  }
  let root: x509.X509Certificate;
  try {
    root = new x509.X509Certificate(rootCACertificatePem);
  } catch (err) {
    throw new InvalidCertificateError(`${join(dir, ROOT_CA_CERTIFICATE_FILE)} is not a PEM certificate`, {
      cause: err,
    });
  }
  // Signature and identity only: an expired certificate is still this node's identity, and the
  // caller decides what to do about it (rejoin).
  const identity = await verifyNodeCertificate(root, certificatePem, null);
  if (!keyMatchesCertificate(keyPem, certificatePem)) {
    throw new InvalidCertificateError(`${join(dir, NODE_KEY_FILE)} does not match ${NODE_CERTIFICATE_FILE}`);
  }
  return { ...identity, rootCACertificatePem, certificatePem, keyPem };
}

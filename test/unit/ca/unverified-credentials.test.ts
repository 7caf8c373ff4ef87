// The credentials a joiner uses to fetch the root CA certificate are built once per process and
// shared by every join (building them loads Node's whole root store).

import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../../src/common/logger';
import { fetchRootCACertificate } from '../../../src/manager/ca/ca-client';
import { caProtos } from '../../../src/manager/ca/ca-grpc';
import { createCAServiceHandlers } from '../../../src/manager/ca/ca-service';
import { MemoryCAStore } from '../../../src/manager/ca/ca-store-memory';
import { CertificateAuthority } from '../../../src/manager/ca/certificate-authority';
import { initializeCluster } from '../../../src/manager/ca/cluster-init';
import { createUnverifiedChannelCredentials } from '../../../src/manager/ca/tls-credentials';

describe('unverified channel credentials', () => {
  it('are built once and the same object is handed to every join', () => {
    const first = createUnverifiedChannelCredentials();
    expect(createUnverifiedChannelCredentials()).toBe(first);
    expect(first._isSecure()).toBe(true);
  });

  it('fetch the root CA certificate over TLS for one join after another', async () => {
    const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
    const store = new MemoryCAStore(init.state);
    const ca = new CertificateAuthority({ store, logger: silentLogger() });
    const server = new grpc.Server();
    server.addService(caProtos().CA.service, createCAServiceHandlers(ca, silentLogger()));
    const credentials = grpc.ServerCredentials.createSsl(
      null,
      [
        {
          cert_chain: Buffer.from(init.firstManager.certificatePem),
          private_key: Buffer.from(init.firstManager.keyPem),
        },
      ],
      false,
    );
    try {
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
      );
      const addr = `127.0.0.1:${port}`;
      for (let join = 0; join < 3; join++)
        await expect(fetchRootCACertificate(addr, { timeoutMs: 10_000 })).resolves.toBe(
          init.state.rootCACertificatePem,
        );
    } finally {
      server.forceShutdown();
    }
  });
});

// The cluster CA over real grpc-js servers on 127.0.0.1: joining with tokens, pinning the CA,
// mutual TLS between nodes, role-based authorization, revocation and renewal.
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { protos } from '../../src/api';
import { silentLogger } from '../../src/common/logger';
import {
  Authorizer,
  CAMismatchError,
  CARequestError,
  CertificateAuthority,
  CertificateRenewer,
  CertificateRevokedError,
  caProtos,
  certificateValidity,
  createCAServiceHandlers,
  createNodeChannelCredentials,
  createNodeServerCredentials,
  errorFromStatus,
  InvalidJoinTokenError,
  initializeCluster,
  joinCluster,
  MemoryCAStore,
  NODE_CHANNEL_OPTIONS,
  NodeCertificateProvider,
  type NodeIdentity,
  type NodeTLSMaterial,
  PermissionDeniedError,
  peerIdentity,
  RootCA,
  renewalTimeMs,
  renewNodeCertificate,
  UnauthenticatedError,
} from '../../src/manager/ca';
import { FakeClock } from '../unit/ca/fake-clock';

const logger = silentLogger();

/** A tiny service of our own: tells the caller who the server thinks it is. */
const PROBE_SERVICE: grpc.ServiceDefinition = {
  WhoAmI: {
    path: '/orch.test.Probe/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? {})),
    requestDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString() || '{}'),
    responseSerialize: (value: unknown) => Buffer.from(JSON.stringify(value ?? {})),
    responseDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString() || '{}'),
  },
};
const ProbeClient = grpc.makeGenericClientConstructor(PROBE_SERVICE, 'Probe');

interface Manager {
  clusterId: string;
  addr: string;
  store: MemoryCAStore;
  ca: CertificateAuthority;
  tokens: { worker: string; manager: string };
  material: NodeTLSMaterial;
  certificates: NodeCertificateProvider;
  server: grpc.Server;
  /** Calls the Raft stream handler received. */
  raftStreams: string[];
}

const managers: Manager[] = [];
const clients: grpc.Client[] = [];

function track<T extends grpc.Client>(client: T): T {
  clients.push(client);
  return client;
}

async function bind(server: grpc.Server, credentials: grpc.ServerCredentials): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

/** `orch init` plus a manager's node-to-node listener: the CA, Raft and the probe service. */
async function startManager(options: { acceptJoiners?: boolean } = {}): Promise<Manager> {
  const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
  const store = new MemoryCAStore(init.state);
  await store.recordIssuedCertificate(init.firstManagerRecord);
  const ca = new CertificateAuthority({ store, logger });
  const certificates = new NodeCertificateProvider(init.firstManager);
  const authorizer = new Authorizer({
    clusterId: init.state.clusterId,
    revoked: store.revocations,
    rules: { 'orch.test.Probe': ['worker', 'manager'] },
    logger,
  });
  const raftStreams: string[] = [];
  const server = new grpc.Server();
  server.addService(caProtos().CA.service, createCAServiceHandlers(ca, logger));
  server.addService(protos().orch.raft.Raft.service, {
    Stream: (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      call.on('data', () => {});
      call.on('end', () => {
        raftStreams.push(call.getPeer());
        callback(null, {});
      });
    },
    SendSnapshot: (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
      callback(null, { accepted: false }),
  });
  server.addService(PROBE_SERVICE, {
    WhoAmI: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, peerIdentity(call) ?? {});
    },
  });
  const addr = await bind(
    server,
    createNodeServerCredentials({ certificates, authorizer, acceptJoiners: options.acceptJoiners }),
  );
  const manager: Manager = {
    clusterId: init.state.clusterId,
    addr,
    store,
    ca,
    tokens: init.joinTokens,
    material: init.firstManager,
    certificates,
    server,
    raftStreams,
  };
  managers.push(manager);
  return manager;
}

function whoAmI(addr: string, credentials: grpc.ChannelCredentials): Promise<NodeIdentity> {
  const client = track(new ProbeClient(addr, credentials, NODE_CHANNEL_OPTIONS));
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      PROBE_SERVICE.WhoAmI!.path,
      PROBE_SERVICE.WhoAmI!.requestSerialize,
      PROBE_SERVICE.WhoAmI!.responseDeserialize,
      {},
      { deadline: Date.now() + 10_000 },
      (err, value) => (err ? reject(err) : resolve(value as NodeIdentity)),
    ),
  );
}

/** Opens the real Raft client stream, sends one empty batch and waits for the ack. */
function raftStream(addr: string, credentials: grpc.ChannelCredentials): Promise<void> {
  const client = track(new (protos().orch.raft.Raft)(addr, credentials, NODE_CHANNEL_OPTIONS));
  return new Promise((resolve, reject) => {
    const call = client.stream({ deadline: Date.now() + 10_000 }, (err) => (err ? reject(err) : resolve()));
    call.write({ messages: [] });
    call.end();
  });
}

function channelFor(material: NodeTLSMaterial): grpc.ChannelCredentials {
  return createNodeChannelCredentials(new NodeCertificateProvider(material));
}

async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(() => {
  for (const manager of managers.splice(0)) manager.server.forceShutdown();
});

describe('cluster CA over mutual TLS', () => {
  let manager: Manager;

  beforeAll(async () => {
    manager = await startManager();
  });

  describe('joining', () => {
    it('gives a node joining with the worker token a worker certificate with a CA-assigned node ID', async () => {
      const worker = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5001',
      });
      expect(worker.role).toBe('worker');
      expect(worker.clusterId).toBe(manager.clusterId);
      expect(worker.nodeId).toMatch(/^[0-9a-z]{25}$/);
      expect(worker.rootCACertificatePem).toBe(manager.material.rootCACertificatePem);
      const root = await RootCA.load(
        manager.material.rootCACertificatePem,
        (await manager.store.getClusterCA()).rootCAKeyPem,
      );
      await expect(root.verifyNodeCertificate(worker.certificatePem)).resolves.toEqual({
        nodeId: worker.nodeId,
        role: 'worker',
        clusterId: manager.clusterId,
      });
      await expect(manager.store.getNode(worker.nodeId)).resolves.toEqual({
        nodeId: worker.nodeId,
        desiredRole: 'worker',
        removed: false,
      });
    });

    it('gives a node joining with the manager token a manager certificate', async () => {
      const joined = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.manager,
        advertiseAddr: '127.0.0.1:5002',
      });
      expect(joined.role).toBe('manager');
      expect(joined.nodeId).not.toBe(manager.material.nodeId);
    });

    it("carries the joiner's availability to the CA, which records it for the new node", async () => {
      const drained = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5006',
        availability: 'drain',
      });
      const defaulted = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5007',
      });
      const recorded = (nodeId: string) =>
        manager.store.issued.find((r) => r.nodeId === nodeId)?.availability;
      expect(recorded(drained.nodeId)).toBe('drain');
      expect(recorded(defaulted.nodeId)).toBe('active');
    });

    it('refuses a token with the wrong secret', async () => {
      const forged = manager.tokens.worker.replace(/-[0-9a-z]{25}$/, `-${'1'.repeat(25)}`);
      const err = await rejection(
        joinCluster({ managerAddr: manager.addr, token: forged, advertiseAddr: '127.0.0.1:5003' }),
      );
      expect(err).toBeInstanceOf(InvalidJoinTokenError);
      expect(err.message).toBe('invalid join token: wrong secret');
    });

    it('refuses the old token after rotation and accepts the new one', async () => {
      const old = manager.tokens.worker;
      const rotated = await manager.ca.rotateJoinToken('worker');
      expect(rotated).not.toBe(old);
      await expect(
        joinCluster({ managerAddr: manager.addr, token: old, advertiseAddr: '127.0.0.1:5004' }),
      ).rejects.toThrow('invalid join token: wrong secret');
      const joined = await joinCluster({
        managerAddr: manager.addr,
        token: rotated,
        advertiseAddr: '127.0.0.1:5004',
      });
      expect(joined.role).toBe('worker');
      manager.tokens.worker = rotated;
      // The manager token was not touched.
      await expect(manager.ca.joinTokens()).resolves.toEqual({
        worker: rotated,
        manager: manager.tokens.manager,
      });
    });

    it('refuses to join a manager whose CA is not the one the token pins, before sending the token', async () => {
      const other = await startManager();
      const err = await rejection(
        joinCluster({
          managerAddr: other.addr,
          token: manager.tokens.worker,
          advertiseAddr: '127.0.0.1:5005',
        }),
      );
      expect(err).toBeInstanceOf(CAMismatchError);
      expect(err.message).toBe("the manager's CA does not match the join token");
      expect(other.store.issued).toHaveLength(1); // only its own first manager
    });

    it('reports an unreachable manager as a CARequestError naming its address', async () => {
      const closed = new grpc.Server();
      const addr = await bind(closed, grpc.ServerCredentials.createInsecure());
      closed.forceShutdown();
      const err = await rejection(
        joinCluster({
          managerAddr: addr,
          token: manager.tokens.worker,
          advertiseAddr: '127.0.0.1:5006',
          timeoutMs: 5000,
        }),
      );
      expect(err).toBeInstanceOf(CARequestError);
      expect(err.message).toContain(`cannot reach manager ${addr}`);
    });
  });

  describe('authorization', () => {
    let worker: NodeTLSMaterial;
    let secondManager: NodeTLSMaterial;

    beforeAll(async () => {
      worker = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5101',
      });
      secondManager = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.manager,
        advertiseAddr: '127.0.0.1:5102',
      });
    });

    it('refuses a worker certificate on the Raft service with PERMISSION_DENIED', async () => {
      const err = await rejection(raftStream(manager.addr, channelFor(worker)));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe('this certificate (worker) may not call orch.raft.Raft');
      const typed = errorFromStatus(err);
      expect(typed).toBeInstanceOf(PermissionDeniedError);
      expect(typed).toMatchObject({ role: 'worker', target: 'orch.raft.Raft' });
    });

    it('accepts a manager certificate on the Raft service', async () => {
      const before = manager.raftStreams.length;
      await raftStream(manager.addr, channelFor(secondManager));
      expect(manager.raftStreams.length).toBe(before + 1);
    });

    it('lets a worker reach a worker service, and the handler sees its verified identity', async () => {
      await expect(whoAmI(manager.addr, channelFor(worker))).resolves.toEqual({
        nodeId: worker.nodeId,
        role: 'worker',
        clusterId: manager.clusterId,
      });
    });

    it('refuses a peer without a certificate on everything but joining, with UNAUTHENTICATED', async () => {
      const anonymous = grpc.credentials.createSsl(
        Buffer.from(manager.material.rootCACertificatePem),
        null,
        null,
        {
          checkServerIdentity: () => undefined,
        },
      );
      const err = await rejection(whoAmI(manager.addr, anonymous));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(errorFromStatus(err)).toBeInstanceOf(UnauthenticatedError);
      expect(err.details).toBe("orch.test.Probe requires a node certificate from this cluster's CA");
    });

    it("refuses a removed node's certificate from then on", async () => {
      const doomed = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5103',
      });
      const credentials = channelFor(doomed);
      await expect(whoAmI(manager.addr, credentials)).resolves.toMatchObject({ nodeId: doomed.nodeId });
      manager.store.removeNode(doomed.nodeId);
      const err = await rejection(whoAmI(manager.addr, credentials));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      const typed = errorFromStatus(err);
      expect(typed).toBeInstanceOf(CertificateRevokedError);
      expect(typed.message).toBe(
        `node ${doomed.nodeId} was removed from the cluster; its certificate is revoked`,
      );
      await expect(
        renewNodeCertificate({
          managerAddr: manager.addr,
          certificates: new NodeCertificateProvider(doomed),
          advertiseAddr: '127.0.0.1:5103',
        }),
      ).rejects.toBeInstanceOf(CertificateRevokedError);
    });

    it("refuses another cluster's node at the TLS layer: it does not trust our CA, nor we its", async () => {
      const other = await startManager();
      const stranger = await joinCluster({
        managerAddr: other.addr,
        token: other.tokens.manager,
        advertiseAddr: '127.0.0.1:5104',
      });
      const before = manager.raftStreams.length;
      const err = await rejection(raftStream(manager.addr, channelFor(stranger)));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(manager.raftStreams).toHaveLength(before);
    });

    it('refuses a foreign certificate in the handshake on a listener that requires client certificates', async () => {
      const strict = await startManager({ acceptJoiners: false });
      const other = await startManager();
      const stranger = await joinCluster({
        managerAddr: other.addr,
        token: other.tokens.manager,
        advertiseAddr: '127.0.0.1:5105',
      });
      // A client that trusts the strict manager's root but presents the other cluster's certificate.
      const credentials = grpc.credentials.createSsl(
        Buffer.from(strict.material.rootCACertificatePem),
        Buffer.from(stranger.keyPem),
        Buffer.from(stranger.certificatePem),
        { checkServerIdentity: () => undefined },
      );
      const err = await rejection(raftStream(strict.addr, credentials));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(strict.raftStreams).toHaveLength(0);
      // The same certificate on a listener that admits joiners counts as no certificate at all.
      const lenient = grpc.credentials.createSsl(
        Buffer.from(manager.material.rootCACertificatePem),
        Buffer.from(stranger.keyPem),
        Buffer.from(stranger.certificatePem),
        { checkServerIdentity: () => undefined },
      );
      const anonymous = await rejection(raftStream(manager.addr, lenient));
      expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    });

    it('refuses to dial a worker as if it were a manager', async () => {
      const workerServer = new grpc.Server();
      workerServer.addService(PROBE_SERVICE, {
        WhoAmI: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, {}),
      });
      const workerCertificates = new NodeCertificateProvider(worker);
      const addr = await bind(
        workerServer,
        createNodeServerCredentials({
          certificates: workerCertificates,
          authorizer: new Authorizer({
            clusterId: manager.clusterId,
            revoked: new Set(),
            rules: { 'orch.test.Probe': ['manager', 'worker'] },
          }),
        }),
      );
      try {
        const err = await rejection(whoAmI(addr, channelFor(secondManager)));
        expect(err.code).toBe(grpc.status.UNAVAILABLE);
        expect(err.details).toContain('the server is not a manager (its certificate says worker)');
      } finally {
        workerServer.forceShutdown();
      }
    });
  });

  describe('server certificates', () => {
    function capturingCredentials(rootPem: string, serials: string[]): grpc.ChannelCredentials {
      return grpc.credentials.createSsl(Buffer.from(rootPem), null, null, {
        checkServerIdentity: (_host, certificate) => {
          serials.push(certificate.serialNumber.toLowerCase());
          return undefined;
        },
      });
    }

    function rootFrom(addr: string, credentials: grpc.ChannelCredentials): Promise<string> {
      const client = track(new (caProtos().CA)(addr, credentials, NODE_CHANNEL_OPTIONS));
      return new Promise((resolve, reject) =>
        client.getRootCaCertificate({}, { deadline: Date.now() + 10_000 }, (err, value) =>
          err ? reject(err) : resolve(value!.certificatePem),
        ),
      );
    }

    it('serves a renewed certificate to new connections without restarting the listener', async () => {
      const serials: string[] = [];
      const root = manager.material.rootCACertificatePem;
      await expect(rootFrom(manager.addr, capturingCredentials(root, serials))).resolves.toBe(root);
      const renewed = await renewNodeCertificate({
        managerAddr: manager.addr,
        certificates: manager.certificates,
        advertiseAddr: '127.0.0.1:4242',
      });
      expect(renewed).toMatchObject({ nodeId: manager.material.nodeId, role: 'manager' });
      manager.certificates.update(renewed);
      await rootFrom(manager.addr, capturingCredentials(root, serials));
      const renewedSerial = new X509Certificate(renewed.certificatePem).serialNumber;
      expect(serials).toHaveLength(2);
      expect(serials[0]).not.toBe(serials[1]);
      expect(serials[1]).toBe(renewedSerial.toLowerCase());
    });

    it('refuses a manager that was removed from the cluster when dialling it', async () => {
      const node = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5301',
      });
      const credentials = createNodeChannelCredentials(new NodeCertificateProvider(node), {
        revoked: new Set([manager.material.nodeId]),
      });
      const err = await rejection(whoAmI(manager.addr, credentials));
      expect(err.code).toBe(grpc.status.UNAVAILABLE);
      expect(err.details).toContain(
        `the server is node ${manager.material.nodeId}, which was removed from the cluster`,
      );
    });
  });

  describe('renewal', () => {
    it('issues a fresh certificate with the same node ID before expiry, and installs it', async () => {
      const worker = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5201',
      });
      const certificates = new NodeCertificateProvider(worker);
      const clock = new FakeClock(Date.now());
      const persisted: NodeTLSMaterial[] = [];
      const renewer = new CertificateRenewer({
        certificates,
        renew: (signal) =>
          renewNodeCertificate({
            managerAddr: manager.addr,
            certificates,
            advertiseAddr: '127.0.0.1:5201',
            signal,
          }),
        persist: async (material) => {
          persisted.push(material);
        },
        logger,
        clock,
        random: () => 0.5,
      });
      try {
        renewer.start();
        const validity = certificateValidity(worker.certificatePem);
        const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
        const due = renewer.nextRenewalAtMs!;
        expect(due).toBe(validity.notBefore.getTime() + Math.floor(lifetime * 0.6));
        expect(due).toBeLessThan(validity.notAfter.getTime());

        clock.advanceTo(due - 1);
        expect(persisted).toHaveLength(0);
        clock.advanceTo(due);
        await renewer.renewNow(); // joins the renewal the timer started
        expect(persisted).toHaveLength(1);
        const renewed = certificates.current;
        expect(renewed).toBe(persisted[0]);
        expect(renewed.nodeId).toBe(worker.nodeId);
        expect(renewed.role).toBe('worker');
        expect(renewed.certificatePem).not.toBe(worker.certificatePem);
        expect(renewed.keyPem).not.toBe(worker.keyPem);
        // The renewed certificate authenticates new connections.
        await expect(whoAmI(manager.addr, createNodeChannelCredentials(certificates))).resolves.toMatchObject(
          {
            nodeId: worker.nodeId,
          },
        );
        // The next renewal is scheduled from the new certificate's own lifetime.
        expect(renewer.nextRenewalAtMs).toBe(
          renewalTimeMs(certificateValidity(renewed.certificatePem), () => 0.5),
        );
      } finally {
        renewer.close();
      }
    });

    it('issues a manager certificate after a promotion, which then reaches Raft', async () => {
      const worker = await joinCluster({
        managerAddr: manager.addr,
        token: manager.tokens.worker,
        advertiseAddr: '127.0.0.1:5202',
      });
      const certificates = new NodeCertificateProvider(worker);
      const renewer = new CertificateRenewer({
        certificates,
        renew: (signal) =>
          renewNodeCertificate({
            managerAddr: manager.addr,
            certificates,
            advertiseAddr: '127.0.0.1:5202',
            signal,
          }),
        logger,
        clock: new FakeClock(Date.now()),
      });
      try {
        await expect(
          raftStream(manager.addr, createNodeChannelCredentials(certificates)),
        ).rejects.toMatchObject({
          code: grpc.status.PERMISSION_DENIED,
        });
        manager.store.setDesiredRole(worker.nodeId, 'manager');
        await renewer.desiredRoleChanged('manager');
        expect(certificates.current).toMatchObject({ nodeId: worker.nodeId, role: 'manager' });
        await raftStream(manager.addr, createNodeChannelCredentials(certificates));
      } finally {
        renewer.close();
      }
    });
  });
});

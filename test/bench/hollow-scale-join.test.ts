// HollowJoiner (src/agent/hollow-join.ts), the joining the scale benchmark's hollow workers use:
// against an in-process CA on loopback whose IssueNodeCertificate can be made to fail.
import * as grpc from '@grpc/grpc-js';
import { HollowJoinError, HollowJoiner, isTransientJoinError } from '../../src/agent/hollow-join';
import { silentLogger } from '../../src/common/logger';
import {
  Authorizer,
  CertificateAuthority,
  caProtos,
  createCAServiceHandlers,
  createNodeServerCredentials,
  initializeCluster,
  MemoryCAStore,
  NodeCertificateProvider,
} from '../../src/manager/ca';
import { CARequestError } from '../../src/manager/ca/ca-errors';

interface TestCA {
  addr: string;
  workerToken: string;
  issued: () => number;
  /** The next `n` IssueNodeCertificate calls fail with `code`. */
  failNext: (n: number, code: grpc.status) => void;
  close: () => void;
}

async function startCA(): Promise<TestCA> {
  const init = await initializeCluster({ advertiseAddr: '127.0.0.1:4242' });
  const ca = new CertificateAuthority({ store: new MemoryCAStore(init.state), logger: silentLogger() });
  const handlers = createCAServiceHandlers(ca, silentLogger());
  let failures = 0;
  let failCode = grpc.status.UNAVAILABLE;
  let issued = 0;
  const server = new grpc.Server();
  server.addService(caProtos().CA.service, {
    ...handlers,
    IssueNodeCertificate: (call, callback) => {
      if (failures > 0) {
        failures--;
        callback({ code: failCode, details: 'injected failure' });
        return;
      }
      handlers.IssueNodeCertificate(call, (err, value) => {
        if (!err) issued++;
        callback(err, value);
      });
    },
  } as typeof handlers);
  const credentials = createNodeServerCredentials({
    certificates: new NodeCertificateProvider(init.firstManager),
    authorizer: new Authorizer({ clusterId: init.state.clusterId, revoked: { has: () => false } }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    addr: `127.0.0.1:${port}`,
    workerToken: init.joinTokens.worker,
    issued: () => issued,
    failNext: (n, code) => {
      failures = n;
      failCode = code;
    },
    close: () => server.forceShutdown(),
  };
}

describe('hollow join', () => {
  let ca: TestCA;

  beforeAll(async () => {
    ca = await startCA();
  });

  afterAll(() => ca.close());

  it('joins a node through the CA with the worker token: a worker certificate for a new node ID', async () => {
    const joiner = new HollowJoiner({ managers: [ca.addr], token: ca.workerToken });
    const [a, b] = await Promise.all([joiner.join(0), joiner.join(1)]);
    expect(a.role).toBe('worker');
    expect(a.nodeId).not.toBe(b.nodeId);
    expect(a.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(joiner.joinStats()).toEqual({ joined: 2, retries: 0 });
  });

  it('tries a transiently failed join again, through the next manager, until it succeeds', async () => {
    const joiner = new HollowJoiner({
      // The first address refuses connections: nothing listens on port 1.
      managers: ['127.0.0.1:1', ca.addr],
      token: ca.workerToken,
      backoff: { initialMs: 1, maxMs: 5 },
    });
    ca.failNext(2, grpc.status.UNAVAILABLE);
    const before = ca.issued();
    // Attempt 1 via 127.0.0.1:1 (refused), 2 via the CA (injected), 3 via :1, 4 via the CA (injected), 5 via :1, 6 succeeds.
    const material = await joiner.join(0);
    expect(material.role).toBe('worker');
    expect(ca.issued()).toBe(before + 1);
    expect(joiner.joinStats()).toEqual({ joined: 1, retries: 5 });
  });

  it('gives up at once on a refusal: a wrong token is not retried', async () => {
    const joiner = new HollowJoiner({ managers: [ca.addr], token: `${ca.workerToken.slice(0, -4)}0000` });
    const error = await joiner.join(3).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(HollowJoinError);
    expect((error as HollowJoinError).attempts).toBe(1);
    expect(joiner.joinStats().retries).toBe(0);
  });

  it('gives up after maxAttempts transient failures, naming the node and the last error', async () => {
    const joiner = new HollowJoiner({
      managers: [ca.addr],
      token: ca.workerToken,
      maxAttempts: 3,
      backoff: { initialMs: 1, maxMs: 2 },
    });
    ca.failNext(3, grpc.status.INTERNAL);
    const error = (await joiner.join(7).catch((err: unknown) => err)) as HollowJoinError;
    expect(error).toBeInstanceOf(HollowJoinError);
    expect(error.message).toMatch(/^hollow node 7 could not join after 3 attempt\(s\)/);
    expect(isTransientJoinError(error.cause)).toBe(true);
  });

  it('stops retrying when its signal aborts', async () => {
    const joiner = new HollowJoiner({
      managers: ['127.0.0.1:1'],
      token: ca.workerToken,
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    const abort = new AbortController();
    const joining = joiner.join(0, abort.signal);
    setTimeout(() => abort.abort(new Error('stopped')), 200).unref();
    await expect(joining).rejects.toThrow('stopped');
  });

  it('treats only unavailability-like CA errors as transient', () => {
    expect(isTransientJoinError(new CARequestError('x', grpc.status.UNAVAILABLE))).toBe(true);
    expect(isTransientJoinError(new CARequestError('x', grpc.status.DEADLINE_EXCEEDED))).toBe(true);
    expect(isTransientJoinError(new CARequestError('x', grpc.status.UNAUTHENTICATED))).toBe(false);
    expect(isTransientJoinError(new Error('x'))).toBe(false);
  });
});

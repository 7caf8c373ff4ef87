import * as grpc from '@grpc/grpc-js';
import { Authorizer, DEFAULT_ACCESS_RULES } from '../../../src/manager/ca/authorization';
import {
  CertificateRevokedError,
  PermissionDeniedError,
  UnauthenticatedError,
  WrongClusterError,
} from '../../../src/manager/ca/ca-errors';
import { statusFromError } from '../../../src/manager/ca/ca-status';
import { type NodeIdentity, newRandomId } from '../../../src/manager/ca/node-identity';

describe('Authorizer', () => {
  const clusterId = newRandomId();
  const revoked = new Set<string>();
  const authorizer = new Authorizer({ clusterId, revoked });
  const worker: NodeIdentity = { nodeId: newRandomId(), role: 'worker', clusterId };
  const manager: NodeIdentity = { nodeId: newRandomId(), role: 'manager', clusterId };

  afterEach(() => revoked.clear());

  it('lets anyone fetch the root certificate and ask to join (the token is checked by the CA)', () => {
    for (const method of ['/orch.ca.CA/GetRootCACertificate', '/orch.ca.CA/IssueNodeCertificate']) {
      expect(authorizer.authorize(method, undefined)).toBeUndefined();
      expect(authorizer.authorize(method, worker)).toBe(worker);
    }
  });

  it('requires a certificate for renewal, from workers and managers alike', () => {
    expect(() => authorizer.authorize('/orch.ca.CA/RenewNodeCertificate', undefined)).toThrow(
      new UnauthenticatedError('orch.ca.CA'),
    );
    expect(authorizer.authorize('/orch.ca.CA/RenewNodeCertificate', worker)).toBe(worker);
    expect(authorizer.authorize('/orch.ca.CA/RenewNodeCertificate', manager)).toBe(manager);
  });

  it('keeps Raft to managers', () => {
    expect(authorizer.authorize('/orch.raft.Raft/Stream', manager)).toBe(manager);
    expect(() => authorizer.authorize('/orch.raft.Raft/Stream', worker)).toThrow(
      'this certificate (worker) may not call orch.raft.Raft',
    );
    expect(() => authorizer.authorize('/orch.raft.Raft/Stream', undefined)).toThrow(UnauthenticatedError);
  });

  it('lets workers reach the dispatcher', () => {
    expect(authorizer.authorize('/orch.dispatcher.Dispatcher/Session', worker)).toBe(worker);
  });

  it('keeps proposal forwarding and role-change notices to managers', () => {
    for (const method of ['/orch.manager.Forwarding/Propose', '/orch.node.NodeRole/RoleChanged']) {
      expect(authorizer.authorize(method, manager)).toBe(manager);
      expect(() => authorizer.authorize(method, worker)).toThrow(PermissionDeniedError);
      expect(() => authorizer.authorize(method, undefined)).toThrow(UnauthenticatedError);
    }
  });

  it('treats every service no rule names as manager-only', () => {
    expect(authorizer.authorize('/orch.control.Control/ListNodes', manager)).toBe(manager);
    expect(() => authorizer.authorize('/orch.control.Control/ListNodes', worker)).toThrow(
      new PermissionDeniedError('worker', 'orch.control.Control'),
    );
  });

  it("refuses a removed node's certificate, whatever its role", () => {
    revoked.add(manager.nodeId);
    expect(() => authorizer.authorize('/orch.raft.Raft/Stream', manager)).toThrow(
      new CertificateRevokedError(manager.nodeId),
    );
    expect(() => authorizer.authorize('/orch.ca.CA/RenewNodeCertificate', manager)).toThrow(
      CertificateRevokedError,
    );
  });

  it('refuses a certificate naming another cluster', () => {
    const stranger: NodeIdentity = { ...manager, clusterId: newRandomId() };
    expect(() => authorizer.authorize('/orch.raft.Raft/Stream', stranger)).toThrow(
      new WrongClusterError(clusterId, stranger.clusterId),
    );
  });

  it('takes extra rules by service or by method; a method rule wins over its service', () => {
    const custom = new Authorizer({
      clusterId,
      revoked,
      rules: { 'orch.logs.Logs': ['worker', 'manager'], '/orch.logs.Logs/Purge': ['manager'] },
    });
    expect(custom.authorize('/orch.logs.Logs/Publish', worker)).toBe(worker);
    expect(() => custom.authorize('/orch.logs.Logs/Purge', worker)).toThrow(
      'this certificate (worker) may not call orch.logs.Logs/Purge',
    );
    expect(DEFAULT_ACCESS_RULES['orch.logs.Logs']).toBeUndefined();
  });

  it('maps refusals to UNAUTHENTICATED and PERMISSION_DENIED', () => {
    expect(statusFromError(new UnauthenticatedError('orch.raft.Raft')).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
    expect(statusFromError(new PermissionDeniedError('worker', 'orch.raft.Raft')).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
    expect(statusFromError(new CertificateRevokedError(worker.nodeId)).code).toBe(
      grpc.status.PERMISSION_DENIED,
    );
  });
});

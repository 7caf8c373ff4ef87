// The orch.ca.CA gRPC service: decodes requests, calls the CertificateAuthority, and turns its
// typed errors into statuses. Who may reach each method is decided earlier, by authorization.ts.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { UnauthenticatedError } from './ca-errors';
import { CA_SERVICE_NAME, type CAHandlers, type NodeCertificate } from './ca-grpc';
import { serviceErrorFromError } from './ca-status';
import type { CertificateAuthority, IssuedNode } from './certificate-authority';
import { availabilityFromWire, roleToWire } from './node-identity';
import { peerIdentity } from './peer-identity';

function toWire(issued: IssuedNode): NodeCertificate {
  return {
    nodeId: issued.nodeId,
    role: roleToWire(issued.role),
    clusterId: issued.clusterId,
    certificatePem: issued.certificatePem,
    rootCaPem: issued.rootCACertificatePem,
    notAfterMs: issued.notAfter.getTime(),
  };
}

function reply<T>(
  callback: grpc.sendUnaryData<T>,
  logger: Logger,
  method: string,
  work: () => Promise<T>,
): void {
  work().then(
    (value) => callback(null, value),
    (err: unknown) => {
      const status = serviceErrorFromError(err);
      if (status.code === grpc.status.INTERNAL) logger.error({ err, method }, 'CA request failed');
      else logger.info({ method, reason: status.details }, 'CA request refused');
      callback(status);
    },
  );
}

export function createCAServiceHandlers(ca: CertificateAuthority, logger: Logger): CAHandlers {
  const log = logger.child({ module: 'ca-service' });
  return {
    GetRootCACertificate: (_call, callback) =>
      reply(callback, log, 'GetRootCACertificate', async () => ({
        certificatePem: await ca.rootCertificatePem(),
      })),
    IssueNodeCertificate: (call, callback) =>
      reply(callback, log, 'IssueNodeCertificate', async () =>
        toWire(
          await ca.issueNodeCertificate({
            csrPem: call.request.csrPem,
            token: call.request.token,
            advertiseAddr: call.request.advertiseAddr,
            availability: availabilityFromWire(call.request.availability),
          }),
        ),
      ),
    RenewNodeCertificate: (call, callback) =>
      reply(callback, log, 'RenewNodeCertificate', async () => {
        const peer = peerIdentity(call);
        if (!peer) throw new UnauthenticatedError(`${CA_SERVICE_NAME}/RenewNodeCertificate`);
        return toWire(
          await ca.renewNodeCertificate(peer, {
            csrPem: call.request.csrPem,
            advertiseAddr: call.request.advertiseAddr,
          }),
        );
      }),
  };
}

import * as grpc from '@grpc/grpc-js';
import {
  CARequestError,
  CertificateRevokedError,
  InvalidCertificateRequestError,
  InvalidJoinTokenError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnknownNodeError,
  WrongClusterError,
} from '../../../src/manager/ca/ca-errors';
import { errorFromStatus, statusFromError } from '../../../src/manager/ca/ca-status';

/** What a client receives for a status the server sent. */
function asReceived(status: grpc.StatusObject): grpc.ServiceError {
  return Object.assign(new Error(`${status.code} ${grpc.status[status.code]}: ${status.details}`), status);
}

describe('CA errors on the wire', () => {
  it.each([
    [new InvalidJoinTokenError('wrong secret'), grpc.status.UNAUTHENTICATED],
    [new UnauthenticatedError('orch.raft.Raft'), grpc.status.UNAUTHENTICATED],
    [new PermissionDeniedError('worker', 'orch.raft.Raft'), grpc.status.PERMISSION_DENIED],
    [new CertificateRevokedError('0123456789abcdefghijklmno'), grpc.status.PERMISSION_DENIED],
    [new WrongClusterError('a', 'b'), grpc.status.PERMISSION_DENIED],
    [
      new InvalidCertificateRequestError('the CSR is not a PEM PKCS#10 request'),
      grpc.status.INVALID_ARGUMENT,
    ],
    [new UnknownNodeError('0123456789abcdefghijklmno'), grpc.status.NOT_FOUND],
  ])('%s travels as status %i and comes back as the same typed error', (error, code) => {
    const status = statusFromError(error);
    expect(status.code).toBe(code);
    expect(status.details).toBe(error.message);
    const back = errorFromStatus(asReceived(status));
    expect(back).toBeInstanceOf(error.constructor);
    expect(back).toEqual(error);
    expect(back.message).toBe(error.message);
    expect(back.cause).toMatchObject({ code });
  });

  it('sends INTERNAL without the message for errors it does not know', () => {
    const status = statusFromError(new Error('ENOENT /secret/path'));
    expect(status.code).toBe(grpc.status.INTERNAL);
    expect(status.details).toBe('internal error in the certificate authority');
  });

  it('turns a status without orch metadata into a CARequestError carrying the code', () => {
    const err = errorFromStatus(
      asReceived({
        code: grpc.status.UNAVAILABLE,
        details: 'connection refused',
        metadata: new grpc.Metadata(),
      }),
    );
    expect(err).toBeInstanceOf(CARequestError);
    expect(err).toMatchObject({ code: grpc.status.UNAVAILABLE, message: 'connection refused' });
  });

  it('ignores malformed orch metadata from a foreign peer', () => {
    const metadata = new grpc.Metadata();
    metadata.set('orch-error-bin', Buffer.from('{"name":"Error","fields":[1]}'));
    const err = errorFromStatus(asReceived({ code: grpc.status.PERMISSION_DENIED, details: 'no', metadata }));
    expect(err).toBeInstanceOf(CARequestError);
  });
});

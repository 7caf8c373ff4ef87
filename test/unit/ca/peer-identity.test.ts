import type { PeerCertificate } from 'node:tls';
import { parseAdvertiseHost } from '../../../src/manager/ca/advertise-address';
import { isValidNodeId, newRandomId, roleFromWire, roleToWire } from '../../../src/manager/ca/node-identity';
import { identityFromSubject, peerIdentity } from '../../../src/manager/ca/peer-identity';

const nodeId = '0123456789abcdefghijklmno';
const clusterId = 'zyxwvutsrqponmlkjihgfedcb';

describe('node identity', () => {
  it('mints Swarm-shaped IDs: 25 base36 characters from 128 random bits', () => {
    const ids = new Set(Array.from({ length: 100 }, newRandomId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(isValidNodeId(id)).toBe(true);
    expect(isValidNodeId('0123456789ABCDEFGHIJKLMNO')).toBe(false);
    expect(isValidNodeId('short')).toBe(false);
  });

  it('maps roles to the wire enum and back', () => {
    expect(roleToWire('manager')).toBe('NODE_ROLE_MANAGER');
    expect(roleToWire('worker')).toBe('NODE_ROLE_WORKER');
    expect(roleFromWire('NODE_ROLE_MANAGER')).toBe('manager');
    expect(roleFromWire('NODE_ROLE_WORKER')).toBe('worker');
  });
});

describe('peer identity', () => {
  it('reads node ID, role and cluster from CN, OU and O', () => {
    expect(identityFromSubject({ CN: nodeId, OU: 'orch-manager', O: clusterId })).toEqual({
      nodeId,
      role: 'manager',
      clusterId,
    });
    expect(identityFromSubject({ CN: [nodeId], OU: ['orch-worker'], O: [clusterId] })).toMatchObject({
      role: 'worker',
    });
  });

  it('finds no identity in a subject that is incomplete, repeated or foreign', () => {
    expect(identityFromSubject({ CN: nodeId, O: clusterId })).toBeUndefined();
    expect(identityFromSubject({ CN: nodeId, OU: 'swarm-manager', O: clusterId })).toBeUndefined();
    expect(identityFromSubject({ CN: 'not an id', OU: 'orch-worker', O: clusterId })).toBeUndefined();
    expect(
      identityFromSubject({ CN: nodeId, OU: ['orch-worker', 'orch-manager'], O: clusterId }),
    ).toBeUndefined();
    expect(identityFromSubject({ CN: nodeId, OU: 'orch-worker', O: '' })).toBeUndefined();
  });

  it('takes the identity only from a TLS-verified peer certificate', () => {
    const certificate = {
      subject: { CN: nodeId, OU: 'orch-worker', O: clusterId },
    } as unknown as PeerCertificate;
    expect(
      peerIdentity({
        getAuthContext: () => ({ transportSecurityType: 'ssl', sslPeerCertificate: certificate }),
      }),
    ).toEqual({
      nodeId,
      role: 'worker',
      clusterId,
    });
    expect(peerIdentity({ getAuthContext: () => ({}) })).toBeUndefined();
    expect(peerIdentity({ getAuthContext: () => null })).toBeUndefined();
    expect(peerIdentity({ getAuthContext: () => ({ transportSecurityType: 'ssl' }) })).toBeUndefined();
  });
});

describe('advertise address', () => {
  it.each([
    ['127.0.0.1:4242', { kind: 'ip', value: '127.0.0.1' }],
    ['127.0.0.1', { kind: 'ip', value: '127.0.0.1' }],
    ['[::1]:4242', { kind: 'ip', value: '::1' }],
    ['::1', { kind: 'ip', value: '::1' }],
    ['Manager-1.Example.com:2377', { kind: 'dns', value: 'manager-1.example.com' }],
  ])('reads the host of %s', (addr, host) => {
    expect(parseAdvertiseHost(addr)).toEqual(host);
  });

  it('treats an empty address as none and refuses nonsense', () => {
    expect(parseAdvertiseHost('')).toBeUndefined();
    expect(() => parseAdvertiseHost('host:port')).toThrow('advertise address host:port: bad port');
    expect(() => parseAdvertiseHost('-bad-:1')).toThrow('not a host name or IP address');
    expect(() => parseAdvertiseHost('10.0.0.1:0')).toThrow('port out of range');
  });
});

import { silentLogger } from '../../../src/common/logger';
import {
  CertificateAuthority,
  createKeyAndCertificateRequest,
  type InitializedCluster,
  initializeCluster,
} from '../../../src/manager/ca';
import {
  newClusterObject,
  nodeFromIssuedCertificate,
  StoreCAStore,
} from '../../../src/manager/manager-ca-store';
import { removeNodeFromStore } from '../../../src/manager/manager-node-operations';
import { LocalProposer, MemoryStore } from '../../../src/store';

const SETTINGS = { heartbeatPeriodMs: 5000, electionTick: 10, heartbeatTick: 1 };

describe('the CA kept in the replicated store', () => {
  let initialized: InitializedCluster;
  let store: MemoryStore;
  let caStore: StoreCAStore;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    initialized = await initializeCluster({ advertiseAddr: '127.0.0.2:4242' });
  });

  beforeEach(async () => {
    store = new MemoryStore({
      proposer: new LocalProposer().attach({ applyCommitted: (d, i) => store.applyCommitted(d, i) }),
    });
    await store.update((tx) => {
      tx.clusters.create(newClusterObject(initialized.state, SETTINGS));
      tx.nodes.create(nodeFromIssuedCertificate(initialized.firstManagerRecord));
    });
    caStore = new StoreCAStore(store);
    ca = new CertificateAuthority({ store: caStore, logger: silentLogger() });
  });

  afterEach(() => {
    caStore.close();
    store.close();
  });

  it('reads back the CA state init created (root, key, secrets, validity)', async () => {
    expect(await caStore.getClusterCA()).toEqual(initialized.state);
    expect(await ca.joinTokens()).toEqual(initialized.joinTokens);
  });

  it('creates the Node object of a joining manager with its Raft address', async () => {
    const { csrPem } = await createKeyAndCertificateRequest();
    const issued = await ca.issueNodeCertificate({
      csrPem,
      token: initialized.joinTokens.manager,
      advertiseAddr: '127.0.0.3:4242',
    });
    const node = store.view((tx) => tx.nodes.get(issued.nodeId))!;
    expect(node.role).toBe('NODE_ROLE_MANAGER');
    expect(node.spec?.desiredRole).toBe('NODE_ROLE_MANAGER');
    expect(node.status?.addr).toBe('127.0.0.3:4242');
    expect(node.managerStatus).toMatchObject({ raftId: issued.nodeId, addr: '127.0.0.3:4242' });
    expect(node.certificate?.role).toBe('NODE_ROLE_MANAGER');
  });

  it('creates a joining node active unless the join asks for another availability', async () => {
    const join = async (availability?: 'active' | 'pause' | 'drain') =>
      ca.issueNodeCertificate({
        csrPem: (await createKeyAndCertificateRequest()).csrPem,
        token: initialized.joinTokens.worker,
        advertiseAddr: '127.0.0.4:4242',
        availability,
      });
    const availabilityOf = (nodeId: string) => store.view((tx) => tx.nodes.get(nodeId)?.spec?.availability);
    expect(availabilityOf((await join()).nodeId)).toBe('NODE_AVAILABILITY_ACTIVE');
    expect(availabilityOf((await join('drain')).nodeId)).toBe('NODE_AVAILABILITY_DRAIN');
    expect(availabilityOf((await join('pause')).nodeId)).toBe('NODE_AVAILABILITY_PAUSE');
  });

  it('a rotated token replaces the old one for every reader of the store', async () => {
    const rotated = await ca.rotateJoinToken('worker');
    expect(rotated).not.toBe(initialized.joinTokens.worker);
    const other = new CertificateAuthority({ store: caStore, logger: silentLogger() });
    expect((await other.joinTokens()).worker).toBe(rotated);
    const { csrPem } = await createKeyAndCertificateRequest();
    await expect(
      ca.issueNodeCertificate({
        csrPem,
        token: initialized.joinTokens.worker,
        advertiseAddr: '127.0.0.4:4242',
      }),
    ).rejects.toThrow('invalid join token: wrong secret');
  });

  it('revokes a removed node at once and refuses its renewal', async () => {
    const { csrPem } = await createKeyAndCertificateRequest();
    const worker = await ca.issueNodeCertificate({
      csrPem,
      token: initialized.joinTokens.worker,
      advertiseAddr: '127.0.0.5:4242',
    });
    expect(caStore.revocations.has(worker.nodeId)).toBe(false);
    await removeNodeFromStore({ store, selfId: 'x', logger: silentLogger() }, worker.nodeId, { force: true });
    expect(caStore.revocations.has(worker.nodeId)).toBe(true);
    expect(await caStore.getNode(worker.nodeId)).toEqual({
      nodeId: worker.nodeId,
      desiredRole: 'worker',
      removed: true,
    });
  });
});

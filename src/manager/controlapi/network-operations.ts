// Control API operations on networks: create (validated, driver defaulted, a VIP subnet chosen in
// the same transaction so two creates can't take the same block; names unique through the store),
// read by ID / name / unique prefix, list with filters, and remove (refused while any service is
// attached, naming them). Nodes create and remove their engine networks themselves, following
// which of their tasks use a network (src/network/).
import type { ListNetworksRequest__Output } from '../../api/gen/types/orch/control/ListNetworksRequest';
import type { NetworkSpec__Output } from '../../api/gen/types/orch/objects/NetworkSpec';
import type { Network, ReadTx } from '../../store';
import { chooseNetworkIpam } from '../allocator/network-subnets';
import { SpecError } from '../spec';
import { type CallOptions, type ControlContext, readBarrier } from './control-context';
import {
  AmbiguousReferenceError,
  FailedPreconditionError,
  InvalidRequestError,
  NoSuchObjectError,
} from './control-errors';

/** The drivers orch accepts. Both mean orch's network: per-node bridges joined by VIPs and the mesh. */
export const NETWORK_DRIVERS = ['bridge', 'overlay'] as const;
export const DEFAULT_NETWORK_DRIVER = 'bridge';

/** Docker's rule for network names, with a length that keeps engine names readable. */
const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const LABEL_KEY_PATTERN = /^[^\s=]+$/;

/** The spec as stored: driver defaulted, everything else checked. Throws SpecError naming the field. */
export function validateNetworkSpec(spec: NetworkSpec__Output): NetworkSpec__Output {
  const name = spec.name.trim();
  if (!name) throw new SpecError('name', 'a network name is required');
  if (!NAME_PATTERN.test(name))
    throw new SpecError(
      'name',
      `invalid network name ${JSON.stringify(spec.name)}: 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  const driver = spec.driver.trim() || DEFAULT_NETWORK_DRIVER;
  if (!(NETWORK_DRIVERS as readonly string[]).includes(driver))
    throw new SpecError(
      'driver',
      `unsupported driver ${JSON.stringify(spec.driver)}: expected ${NETWORK_DRIVERS.join(' or ')}`,
    );
  if (spec.ingress) throw new SpecError('ingress', 'the ingress network is built in; it cannot be created');
  if (spec.internal) throw new SpecError('internal', 'internal networks are not supported');
  for (const key of Object.keys(spec.labels))
    if (!LABEL_KEY_PATTERN.test(key))
      throw new SpecError('labels', `invalid label key ${JSON.stringify(key)}`);
  const options = Object.keys(spec.driverOptions);
  if (options.length > 0)
    throw new SpecError('driverOptions', `unknown driver option ${JSON.stringify(options[0])}`);
  return { ...spec, name, driver };
}

export async function createNetwork(
  ctx: ControlContext,
  spec: NetworkSpec__Output | null,
  options: CallOptions,
): Promise<Network> {
  if (!spec) throw new InvalidRequestError('spec', 'a network spec is required');
  const complete = validateNetworkSpec(spec);
  const created = await ctx.store.update(
    (tx) =>
      tx.networks.create({ spec: complete, ipam: chooseNetworkIpam(complete.ipam, tx.networks.list()) }),
    { signal: options.signal },
  );
  return ctx.store.view((tx) => mustGet(tx, created.meta!.id));
}

export async function getNetwork(
  ctx: ControlContext,
  reference: string,
  linearizable: boolean,
  options: CallOptions,
): Promise<Network> {
  await readBarrier(ctx, linearizable, options);
  return ctx.store.view((tx) => resolveNetwork(tx, reference));
}

export async function listNetworks(
  ctx: ControlContext,
  request: ListNetworksRequest__Output,
  options: CallOptions,
): Promise<Network[]> {
  await readBarrier(ctx, request.linearizable, options);
  const f = request.filters;
  return ctx.store.view((tx) =>
    tx.networks
      .filter((network) => {
        if (!f) return true;
        const id = network.meta?.id ?? '';
        const name = network.spec?.name ?? '';
        if (f.ids.length > 0 && !f.ids.some((p) => id.startsWith(p))) return false;
        if (f.names.length > 0 && !f.names.some((p) => name.startsWith(p))) return false;
        if (f.drivers.length > 0 && !f.drivers.includes(network.spec?.driver ?? '')) return false;
        const labels = network.spec?.labels ?? {};
        return Object.entries(f.labels).every(([k, v]) => k in labels && (v === '' || labels[k] === v));
      })
      .sort((a, b) => ((a.spec?.name ?? '') < (b.spec?.name ?? '') ? -1 : 1)),
  );
}

/** Removes the network, checking inside the transaction that no service is attached to it. */
export async function removeNetwork(
  ctx: ControlContext,
  reference: string,
  options: CallOptions,
): Promise<void> {
  const id = ctx.store.view((tx) => resolveNetwork(tx, reference)).meta!.id;
  await ctx.store.update(
    (tx) => {
      const network = mustGet(tx, id);
      const users = attachedServices(tx, network);
      if (users.length > 0) {
        const shown = users.slice(0, 5).join(', ') + (users.length > 5 ? ', …' : '');
        throw new FailedPreconditionError(
          `network ${network.spec?.name} is in use by service${users.length > 1 ? 's' : ''} ${shown}: remove ${users.length > 1 ? 'them' : 'it'} or detach ${users.length > 1 ? 'them' : 'it'} first`,
        );
      }
      tx.networks.delete(id);
    },
    { signal: options.signal },
  );
}

/** Names of the services whose spec attaches to the network (by ID or by name). */
export function attachedServices(tx: ReadTx, network: Network): string[] {
  const id = network.meta?.id ?? '';
  const byId = tx.services.findByNetwork(id);
  const byName = network.spec?.name ? tx.services.findByNetwork(network.spec.name) : [];
  const names = new Set([...byId, ...byName].map((s) => s.spec?.name ?? s.meta?.id ?? ''));
  // A service may name it by a unique ID prefix too.
  for (const service of tx.services.list())
    if (service.spec?.networks.some((n) => n.target.length >= 3 && id.startsWith(n.target)))
      names.add(service.spec?.name ?? service.meta?.id ?? '');
  return [...names].sort();
}

/** ID, then name, then a unique ID prefix, like the docker CLI. */
export function resolveNetwork(tx: ReadTx, reference: string): Network {
  const ref = reference.trim();
  if (!ref) throw new NoSuchObjectError('network', reference);
  const found = tx.networks.get(ref) ?? tx.networks.getByName(ref);
  if (found) return found;
  const matches = tx.networks.findByIdPrefix(ref);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new NoSuchObjectError('network', ref);
  throw new AmbiguousReferenceError('network', ref, matches.map((m) => m.meta?.id ?? '').sort());
}

function mustGet(tx: ReadTx, id: string): Network {
  const network = tx.networks.get(id);
  if (!network) throw new NoSuchObjectError('network', id);
  return network;
}

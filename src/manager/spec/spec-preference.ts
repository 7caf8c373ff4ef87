// Placement preferences (`--placement-pref spread=node.labels.zone`). Only the spread strategy
// exists, as in Swarm, over a node or engine label. The stored form (ServiceSpec
// placement.spread_preferences) is the label descriptor alone, `node.labels.zone`; the parser takes
// either form.

import { quote, SpecError } from './spec-error';

export interface SpreadPreference {
  /** `node.labels.zone` or `engine.labels.zone`, as written. */
  readonly descriptor: string;
  readonly source: 'node' | 'engine';
  /** The label name: `zone`. */
  readonly label: string;
}

const LABEL_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;

/** Parses `spread=node.labels.KEY` or `node.labels.KEY`; `field` names the flag or field in the error. */
export function parseSpreadPreference(text: string, field = 'placement-pref'): SpreadPreference {
  const problem = (what: string) =>
    new SpecError(field, `invalid placement preference ${quote(text)}: ${what}`);
  const trimmed = text.trim();
  let descriptor = trimmed;
  const eq = trimmed.indexOf('=');
  if (eq >= 0) {
    const strategy = trimmed.slice(0, eq).trim();
    if (strategy.toLowerCase() !== 'spread')
      throw problem(`unknown strategy ${quote(strategy)}; only spread exists`);
    descriptor = trimmed.slice(eq + 1).trim();
  }
  const lower = descriptor.toLowerCase();
  const source = lower.startsWith('node.labels.')
    ? 'node'
    : lower.startsWith('engine.labels.')
      ? 'engine'
      : undefined;
  if (!source) throw problem('expected spread=node.labels.KEY or spread=engine.labels.KEY');
  const label = descriptor.slice(`${source}.labels.`.length);
  if (!LABEL_KEY.test(label)) throw problem(`invalid label key ${quote(label)}`);
  return { descriptor, source, label };
}

/** Parses every preference, naming the failing one by index: `placement.spreadPreferences[1]`. */
export function parseSpreadPreferences(
  texts: readonly string[],
  field = 'spreadPreferences',
): SpreadPreference[] {
  return texts.map((text, i) => parseSpreadPreference(text, `${field}[${i}]`));
}

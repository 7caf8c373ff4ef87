// Placement constraints (`--constraint node.labels.zone==east`), parsed and validated once at
// service create/update time so the scheduler never meets a malformed one. Keys Swarm users know:
// node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.KEY and
// engine.labels.KEY; operators == and !=. Values compare case-insensitively, as in Swarm.

import { quote, SpecError } from './spec-error';

export type ConstraintOperator = '==' | '!=';

export interface Constraint {
  /** The left side as written, trimmed: `node.labels.zone`. */
  readonly key: string;
  readonly operator: ConstraintOperator;
  /** The right side as written, trimmed: `east`. */
  readonly value: string;
}

const FIXED_KEYS = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'];
const LABEL_PREFIXES = ['node.labels.', 'engine.labels.'];
const LABEL_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/;
// No operators, quotes or commas inside a value; spaces are allowed inside, not around.
const VALUE = /^[A-Za-z0-9:\-_\s.*()?+[\]\\^$|/@]+$/;
const KEYS_HELP =
  'use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.KEY or engine.labels.KEY';

/** Parses one constraint expression; `field` names the flag or field in the error. */
export function parseConstraint(expression: string, field = 'constraint'): Constraint {
  const problem = (what: string) => new SpecError(field, `invalid constraint ${quote(expression)}: ${what}`);
  const eq = expression.indexOf('==');
  const ne = expression.indexOf('!=');
  if (eq < 0 && ne < 0) throw problem('expected KEY==VALUE or KEY!=VALUE');
  const at = eq < 0 ? ne : ne < 0 ? eq : Math.min(eq, ne);
  const operator = expression.slice(at, at + 2) as ConstraintOperator;
  const key = expression.slice(0, at).trim();
  const value = expression.slice(at + 2).trim();
  if (key === '') throw problem('the key before the operator is empty');
  if (value === '') throw problem('the value after the operator is empty');
  if (value.includes('==') || value.includes('!=')) throw problem('more than one operator');
  const lowerKey = key.toLowerCase();
  const prefix = LABEL_PREFIXES.find((p) => lowerKey.startsWith(p));
  if (prefix) {
    const labelKey = key.slice(prefix.length);
    if (!LABEL_KEY.test(labelKey)) throw problem(`invalid label key ${quote(labelKey)}`);
  } else if (!FIXED_KEYS.includes(lowerKey)) {
    throw problem(`unknown key ${quote(key)}; ${KEYS_HELP}`);
  }
  if (!VALUE.test(value)) throw problem(`invalid character in value ${quote(value)}`);
  if (lowerKey === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase())) {
    throw problem('node.role must be manager or worker');
  }
  return { key, operator, value };
}

/** Parses every constraint, naming the failing one by index: `placement.constraints[2]`. */
export function parseConstraints(expressions: readonly string[], field = 'constraints'): Constraint[] {
  return expressions.map((expression, i) => parseConstraint(expression, `${field}[${i}]`));
}

/** The label name of a `node.labels.*` / `engine.labels.*` key, with which of the two it is. */
export function constraintLabel(key: string): { source: 'node' | 'engine'; label: string } | undefined {
  const lower = key.toLowerCase();
  if (lower.startsWith('node.labels.')) return { source: 'node', label: key.slice('node.labels.'.length) };
  if (lower.startsWith('engine.labels.'))
    return { source: 'engine', label: key.slice('engine.labels.'.length) };
  return undefined;
}

/** Swarm's matching rule: values compare case-insensitively; a missing label never equals anything. */
export function constraintHolds(constraint: Constraint, actual: string | undefined): boolean {
  const equal = actual !== undefined && actual.toLowerCase() === constraint.value.toLowerCase();
  return constraint.operator === '==' ? equal : !equal;
}

export function formatConstraint(constraint: Constraint): string {
  return `${constraint.key}${constraint.operator}${constraint.value}`;
}

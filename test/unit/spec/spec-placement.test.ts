import {
  constraintHolds,
  parseConstraint,
  parseConstraints,
  parseSpreadPreference,
  SpecError,
} from '../../../src/manager/spec';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    return (err as SpecError).message;
  }
  throw new Error('expected a SpecError');
}

describe('parseConstraint', () => {
  it.each([
    ['node.role==manager', 'node.role', '==', 'manager'],
    ['node.role != worker', 'node.role', '!=', 'worker'],
    ['node.hostname==web-1', 'node.hostname', '==', 'web-1'],
    ['node.id==abc123', 'node.id', '==', 'abc123'],
    ['node.labels.zone==east', 'node.labels.zone', '==', 'east'],
    ['node.labels.com.example.tier!=db', 'node.labels.com.example.tier', '!=', 'db'],
    ['engine.labels.storage==ssd', 'engine.labels.storage', '==', 'ssd'],
    ['node.platform.os==linux', 'node.platform.os', '==', 'linux'],
    ['node.platform.arch==x86_64', 'node.platform.arch', '==', 'x86_64'],
  ])('parses %s', (text, key, operator, value) => {
    expect(parseConstraint(text)).toEqual({ key, operator, value });
  });

  it.each([
    ['node.role=manager', 'expected KEY==VALUE or KEY!=VALUE'],
    ['==manager', 'the key before the operator is empty'],
    ['node.role==', 'the value after the operator is empty'],
    ['node.zone==east', 'unknown key "node.zone"; use node.id, node.hostname, node.role'],
    ['node.labels.==east', 'invalid label key ""'],
    ['node.role==leader', 'node.role must be manager or worker'],
    ['node.labels.a==b==c', 'more than one operator'],
    ['node.labels.a=="b"', 'invalid character in value'],
  ])('rejects %s with a message naming the constraint', (text, problem) => {
    const message = messageOf(() => parseConstraint(text, '--constraint'));
    expect(message.startsWith(`--constraint: invalid constraint ${JSON.stringify(text)}: `)).toBe(true);
    expect(message).toContain(problem);
  });

  it('names the failing constraint by index in a list', () => {
    expect(
      messageOf(() => parseConstraints(['node.role==worker', 'bogus'], 'placement.constraints')),
    ).toMatch(/^placement\.constraints\[1\]: invalid constraint "bogus"/);
  });

  it('matches values case-insensitively and treats a missing label as different', () => {
    const eq = parseConstraint('node.labels.zone==East');
    const ne = parseConstraint('node.labels.zone!=east');
    expect(constraintHolds(eq, 'east')).toBe(true);
    expect(constraintHolds(eq, undefined)).toBe(false);
    expect(constraintHolds(ne, 'EAST')).toBe(false);
    expect(constraintHolds(ne, undefined)).toBe(true);
  });
});

describe('parseSpreadPreference', () => {
  it('accepts the CLI form and the stored descriptor', () => {
    expect(parseSpreadPreference('spread=node.labels.zone')).toEqual({
      descriptor: 'node.labels.zone',
      source: 'node',
      label: 'zone',
    });
    expect(parseSpreadPreference('engine.labels.rack')).toEqual({
      descriptor: 'engine.labels.rack',
      source: 'engine',
      label: 'rack',
    });
  });

  it.each([
    ['binpack=node.labels.zone', 'unknown strategy "binpack"; only spread exists'],
    ['spread=node.hostname', 'expected spread=node.labels.KEY or spread=engine.labels.KEY'],
    ['spread=node.labels.', 'invalid label key ""'],
  ])('rejects %s', (text, problem) => {
    expect(messageOf(() => parseSpreadPreference(text, '--placement-pref'))).toBe(
      `--placement-pref: invalid placement preference ${JSON.stringify(text)}: ${problem}`,
    );
  });
});

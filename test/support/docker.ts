// Helpers for tests that need the real Docker engine.
export const TEST_IMAGE = 'orch/busybox:latest';

/** True when globalSetup found an engine that answers. */
export function dockerAvailable(): boolean {
  return process.env.ORCH_TEST_DOCKER === '1';
}

/**
 * `describe` for suites that need Docker. Without an engine the suite is skipped loudly,
 * except under CI=true, where a missing engine is a failure.
 */
export function describeDocker(name: string, fn: () => void): void {
  if (dockerAvailable()) {
    describe(name, fn);
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs a Docker engine (CI=true)', () => {
        throw new Error(
          'no Docker engine answers; under CI=true this is a failure (see scripts/docker-engine)',
        );
      });
    });
  } else {
    describe.skip(`${name} [SKIPPED: no Docker engine]`, fn);
  }
}

/** A label value unique to this test run, to find and clean up exactly what the test made. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

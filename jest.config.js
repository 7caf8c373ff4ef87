// Jest runs TypeScript through SWC (CommonJS output, no type checking: `npm run typecheck` does that).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  testTimeout: 30000,
  // On 2 cores Jest runs every file in one process. Run together, test/integration/mesh-tcp and
  // test/e2e/docker-executor leave that process spinning after all tests pass (each file alone
  // exits, and --detectOpenHandles names nothing). Until the cause is found, end the run when
  // the tests are done rather than hang CI.
  forceExit: true,
};

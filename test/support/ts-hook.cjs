// Lets `node -r ./test/support/ts-hook.cjs file.ts` run the project's TypeScript directly (benchmarks,
// and child processes that tests start from TypeScript sources, such as mesh workers): each .ts file
// is compiled to CommonJS with @swc/core (a dev dependency, as for Jest) on require.
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformFileSync(filename, {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

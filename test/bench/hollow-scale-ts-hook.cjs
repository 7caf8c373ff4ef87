// Lets `node -r ./test/bench/hollow-scale-ts-hook.cjs test/bench/hollow-scale.ts` run the benchmark's
// TypeScript directly: each .ts file is compiled to CommonJS with @swc/core (a dev dependency) on require.
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformFileSync(filename, {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

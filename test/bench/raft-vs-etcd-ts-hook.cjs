// Lets `node -r ./test/bench/raft-vs-etcd-ts-hook.cjs file.ts` run the benchmark's TypeScript directly:
// each .ts file is compiled to CommonJS with @swc/core (already a dev dependency, as for Jest) on require.
const swc = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = swc.transformFileSync(filename, {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

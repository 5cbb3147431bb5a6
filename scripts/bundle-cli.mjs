#!/usr/bin/env node
// Bundles the built CLI (apps/cli/dist/src, from `tsc -b`) into a few files: apps/cli/dist/bundle/main.js and the
// chunks its lazily loaded commands need. Node resolves ESM module by module; the unbundled CLI opens ~700 files
// of typebox and the workspace packages before `mbsync sync` does anything (about 1 s and 78 MB on a 2-core
// machine), the bundle a handful (about 0.35 s and 55 MB). `pnpm mbsync` and the benches run the bundle.
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

await build({
  entryPoints: [`${root}apps/cli/dist/src/main.js`],
  outdir: `${root}apps/cli/dist/bundle`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies (ioredis) require node's modules: give the bundle a require of its own
  banner: { js: "import { createRequire as mbsyncCreateRequire } from 'node:module'; const require = mbsyncCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});

// The command line, the top of the dependency graph: nothing under src/ outside this folder imports it
// (eslint's no-restricted-imports rule; test/cli/layering.test.ts). bin/media-gateway runs `main`.
export { main, usage } from './main.js';

// Dependencies point one way: the lint rule in eslint.config.js refuses an import of src/cli/ from any other
// folder of src/, and lets src/cli/ import itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint();
const importDemo = "import { run } from '../cli/demo.js';\nexport const demo = run;\n";

test('a domain module importing src/cli/ fails the lint', async () => {
  const [result] = await eslint.lintText(importDemo, { filePath: 'src/bench/layering-probe.ts' });
  assert.deepEqual(
    result.messages.map((m) => m.ruleId),
    ['no-restricted-imports'],
  );
});

test('src/cli/ may import src/cli/', async () => {
  const [result] = await eslint.lintText("import { run } from './demo.js';\nexport const demo = run;\n", {
    filePath: 'src/cli/layering-probe.ts',
  });
  assert.deepEqual(result.messages, []);
});

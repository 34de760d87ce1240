#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's built-in test runner, TypeScript loaded by tsx.
// (Node 20's `--test` has no glob support, so the file list is built here.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = walk('test');
// test/system/ builds and runs containers (npm run test:container, npm run test:scale): only
// when asked for by name
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
else files = files.filter((f) => !f.startsWith(join('test', 'system')));
if (!files.length) {
  console.error('no test files found');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  // WARMUP_BUDGET_MS: the servers the tests start measure a shorter batch profile (1 s instead
  // of 3), which keeps the many start-ups of the suite quick; one test checks the profile itself
  env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', WARMUP_BUDGET_MS: process.env.WARMUP_BUDGET_MS ?? '1000' },
});
const nodeStatus = r.status ?? 1;

// The Python half of the suite (training/tests: the pipeline that makes the served graphs) runs
// too, unless a file filter was given or SKIP_PYTHON_TESTS=1. It needs Debian's python3-torch
// stack (see README); without it the suite fails and says what to install, rather than passing
// on half the tests.
let pyStatus = 0;
if (!filter.length && process.env.SKIP_PYTHON_TESTS !== '1') {
  const py = process.env.PYTHON ?? '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch, onnx, sklearn, scipy, pytest, jsonschema, PIL'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.error(`\nPython tests not run: ${py} lacks torch/onnx/sklearn/scipy/pytest/jsonschema/PIL. Install them with\n` +
      '  apt-get install python3-torch python3-onnx python3-sklearn python3-scipy python3-pytest python3-tqdm python3-jsonschema python3-pil dataset-fashion-mnist\n' +
      'or set SKIP_PYTHON_TESTS=1 to run the TypeScript suite alone.');
    pyStatus = 1;
  } else {
    pyStatus = spawnSync(py, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'training/tests'], { stdio: 'inherit' }).status ?? 1;
  }
}
process.exit(nodeStatus || pyStatus);

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contractProblems } from '../../src/models/contract.js';

const image = { channels: 3, height: 8, width: 8 };
const good = {
  inputs: [
    { name: 'x', isTensor: true, type: 'float32', shape: ['B', 3, 8, 8] },
    { name: 'sigma', isTensor: true, type: 'float32', shape: ['B'] },
    { name: 'class_labels', isTensor: true, type: 'int64', shape: ['B'] },
  ],
  outputs: [{ name: 'denoised', isTensor: true, type: 'float32', shape: ['B', 3, 8, 8] }],
};

test('a graph honouring the contract has no problems', () => {
  assert.deepEqual(contractProblems(good.inputs, good.outputs, image), []);
  // metadata without types/shapes (older bindings) is accepted on names alone
  assert.deepEqual(contractProblems(good.inputs.map((i) => ({ name: i.name, isTensor: true })), [{ name: 'denoised', isTensor: true }], image), []);
});

test('wrong names, types, ranks and dims are reported', () => {
  const bad = structuredClone(good);
  bad.inputs[1].type = 'float64';
  bad.inputs[2] = { name: 'labels', isTensor: true, type: 'int64', shape: ['B'] };
  bad.outputs[0].shape = ['B', 1, 8, 8];
  bad.inputs[0].shape = ['B', 3, 8];
  const p = contractProblems(bad.inputs, bad.outputs, image);
  assert.ok(p.some((s) => /sigma.*float64/.test(s)), p.join('\n'));
  assert.ok(p.some((s) => /class_labels.*missing/.test(s)));
  assert.ok(p.some((s) => /unexpected inputs labels/.test(s)));
  assert.ok(p.some((s) => /denoised.*dim 1 is 1, expected 3/.test(s)));
  assert.ok(p.some((s) => /"x" has rank 3/.test(s)));
});

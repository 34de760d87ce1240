import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profileSizes, targetRows } from '../../src/scheduler/batch-size.js';

test('profile sizes: powers of two up to MAX_BATCH, and MAX_BATCH itself', () => {
  assert.deepEqual(profileSizes(64), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(profileSizes(48), [1, 2, 4, 8, 16, 32, 48]);
  assert.deepEqual(profileSizes(1), [1]);
});

test('target: the smallest batch within 3 % of the best throughput', () => {
  const p = [
    { rows: 1, rowsPerS: 500 },
    { rows: 8, rowsPerS: 1200 },
    { rows: 16, rowsPerS: 1390 },
    { rows: 32, rowsPerS: 1420 },
    { rows: 64, rowsPerS: 1300 },
  ];
  assert.equal(targetRows(p, 64), 16, '1390 is within 3 % of 1420');
  assert.equal(targetRows(p, 64, 0), 32);
  assert.equal(targetRows([], 64), 64, 'nothing measured: the cap');
  assert.equal(targetRows([{ rows: 1, rowsPerS: 0.3 }], 64), 1, 'a model measured at one row only (too slow for more)');
});

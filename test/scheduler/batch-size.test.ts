import { test } from 'node:test';
import assert from 'node:assert/strict';
import { profileSizes, targetRows } from '../../src/scheduler/batch-size.js';

test('profile sizes: powers of two up to MAX_BATCH, and MAX_BATCH itself', () => {
  assert.deepEqual(profileSizes(64), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(profileSizes(48), [1, 2, 4, 8, 16, 32, 48]);
  assert.deepEqual(profileSizes(1), [1]);
});

test('target: the smallest batch within 1 % of the best throughput', () => {
  const p = [
    { rows: 1, rowsPerS: 500 },
    { rows: 8, rowsPerS: 1200 },
    { rows: 16, rowsPerS: 1410 },
    { rows: 32, rowsPerS: 1420 },
    { rows: 64, rowsPerS: 1300 },
  ];
  assert.equal(targetRows(p, 64), 16, '1410 is within 1 % of 1420');
  assert.equal(targetRows(p, 64, 0), 32);
  // a flat top, as digits16's profile often is: 16 rows 2.3 % below the best, 64 rows 0.4 %
  const flat = [
    { rows: 16, rowsPerS: 1300 },
    { rows: 32, rowsPerS: 1330 },
    { rows: 64, rowsPerS: 1325 },
  ];
  assert.equal(targetRows(flat, 64), 32);
  assert.equal(targetRows(flat, 64, 0.03), 16, 'a 3 % tolerance takes the smaller batch');
  assert.equal(targetRows([], 64), 64, 'nothing measured: the cap');
  assert.equal(targetRows([{ rows: 1, rowsPerS: 0.3 }], 64), 1, 'a model measured at one row only (too slow for more)');
});

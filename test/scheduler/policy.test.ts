import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admits, decide, planBatch, retryAfterSeconds } from '../../src/scheduler/policy.js';

const L = (rows: 1 | 2, inFlight = false) => ({ rows, inFlight });

test('planBatch takes ready lanes oldest first and skips those in flight', () => {
  const lanes = [L(2, true), L(2), L(1), L(2), L(1)];
  // the guided lane at 3 does not fit in the last row, the unguided one behind it does
  assert.deepEqual(planBatch(lanes, 4), { picked: [1, 2, 4], rows: 4 });
  assert.deepEqual(planBatch(lanes, 3), { picked: [1, 2], rows: 3 });
  assert.deepEqual(planBatch([L(2), L(1), L(2), L(1)], 4), { picked: [0, 1, 3], rows: 4 });
  assert.deepEqual(planBatch([L(2), L(2), L(2)], 64), { picked: [0, 1, 2], rows: 6 });
  assert.deepEqual(planBatch([], 8), { picked: [], rows: 0 });
});

test('planBatch mixes guided and unguided lanes of any step in one call (FIFO)', () => {
  const lanes = Array.from({ length: 40 }, (_, i) => L(i % 3 === 0 ? 1 : 2));
  const { picked, rows } = planBatch(lanes, 64);
  assert.ok(rows <= 64 && rows >= 63);
  for (let i = 1; i < picked.length; i++) assert.ok(picked[i] > picked[i - 1]);
});

test('decide: full batch now, partial after max wait, nothing without a free worker', () => {
  const k = { maxRows: 8, maxWaitMs: 5 };
  assert.deepEqual(decide({ readyRows: 8, oldestReadyAt: 100, now: 100, workerFree: true, workerIdle: true }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ readyRows: 3, oldestReadyAt: 100, now: 102, workerFree: true, workerIdle: true }, k), { action: 'wait', ms: 3 });
  assert.deepEqual(decide({ readyRows: 3, oldestReadyAt: 100, now: 105, workerFree: true, workerIdle: true }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ readyRows: 8, oldestReadyAt: 100, now: 200, workerFree: false, workerIdle: false }, k), { action: 'idle' });
  assert.deepEqual(decide({ readyRows: 0, oldestReadyAt: 0, now: 200, workerFree: true, workerIdle: true }, k), { action: 'idle' });
  // busy worker: a full batch is queued behind the running call, a partial one is held
  assert.deepEqual(decide({ readyRows: 8, oldestReadyAt: 100, now: 100, workerFree: true, workerIdle: false }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ readyRows: 7, oldestReadyAt: 0, now: 200, workerFree: true, workerIdle: false }, k), { action: 'idle' });
  // lanes back from a call (readyAt −∞) go at once to an idle worker
  assert.deepEqual(decide({ readyRows: 2, oldestReadyAt: -Infinity, now: 1, workerFree: true, workerIdle: true }, { maxRows: 8, maxWaitMs: 1e6 }), { action: 'dispatch' });
  assert.deepEqual(decide({ readyRows: 1, oldestReadyAt: 100, now: 100, workerFree: true, workerIdle: true }, { maxRows: 8, maxWaitMs: 0 }), { action: 'dispatch' });
});

test('admission and Retry-After', () => {
  assert.equal(admits(0, 4, 4), true);
  assert.equal(admits(1, 4, 4), false);
  assert.equal(retryAfterSeconds(10, 4, 0), 1);
  assert.equal(retryAfterSeconds(100, 4, 100), 4);
  assert.equal(retryAfterSeconds(1e9, 4, 1), 60);
});

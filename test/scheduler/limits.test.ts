import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_DEADLINE_MS, BASE_QUEUE_LIMIT, modelLimits } from '../../src/scheduler/limits.js';

test('a fast model keeps the usual limits', () => {
  // digits16-like: 2 ms per 1-row call, 1,400 rows/s at its best batch, 4 rows per image
  assert.deepEqual(modelLimits({ cost: { msPerRow: 2, rowsPerS: 1400 }, rowsPerImage: 4, maxImages: 16 }), { deadlineMs: BASE_DEADLINE_MS, queueLimit: BASE_QUEUE_LIMIT, maxImages: 16 });
});

test('a slow model gets a longer deadline and a queue it can drain within it', () => {
  // a 296M-parameter network on 2 CPU cores: 4 s per row, 0.5 rows/s at best, 4 rows per image
  const l = modelLimits({ cost: { msPerRow: 4000, rowsPerS: 0.5 }, rowsPerImage: 4, maxImages: 16 });
  assert.equal(l.deadlineMs, 64_000, 'four lone requests of 16 s');
  assert.equal(l.queueLimit, 8, '64 s × 0.5 rows/s ÷ 4 rows');
  assert.equal(l.maxImages, 8, 'no request larger than the queue');
});

test('explicit configuration wins; nothing measured falls back to the usual limits', () => {
  const l = modelLimits({ cost: { msPerRow: 4000, rowsPerS: 0.5 }, rowsPerImage: 4, maxImages: 16, deadlineMs: 5000, queueLimit: 100 });
  assert.deepEqual(l, { deadlineMs: 5000, queueLimit: 100, maxImages: 16 });
  assert.deepEqual(modelLimits({ cost: { msPerRow: NaN, rowsPerS: NaN }, rowsPerImage: 4, maxImages: 16 }), { deadlineMs: BASE_DEADLINE_MS, queueLimit: BASE_QUEUE_LIMIT, maxImages: 16 });
  assert.equal(modelLimits({ cost: { msPerRow: 60_000, rowsPerS: 0.001 }, rowsPerImage: 4, maxImages: 16 }).queueLimit, 1, 'at least one image');
});

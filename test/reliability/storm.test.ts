/**
 * Disconnect storm, full size (1,000 clients that vanish at random points) with 60 connected
 * controls checked against undisturbed requests and the PyTorch golden images.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTarget } from './suite.js';
import { runStorm } from './storm.js';

describe('reliability: disconnect storm', () => {
  const target = useTarget();

  test('1,000 aborts: no leaked lanes, no unhandled errors, connected requests get correct images', { timeout: 180_000 }, async () => {
    const r = await runStorm(target(), { aborts: 1000, controls: 60, concurrency: 48, models: { guided: 'tiny-rgb8', plain: 'tiny-rgb8-cm', classes: 4 }, goldenFile: 'test/golden/tiny-rgb8.json', seed: 7 });
    const info = JSON.stringify(r);
    assert.ok(r.aborted >= 1000, info);
    assert.ok(r.serverDroppedInScheduler > 100, `few aborts reached the scheduler: ${info}`);
    assert.ok(r.serverAbortedUploads > 0, info);
    assert.equal(r.leakedLanes, 0, info);
    assert.equal(r.leakedQueue, 0, info);
    assert.equal(r.callsInFlightAfter, 0, info);
    assert.equal(r.server5xx, 0, info);
    assert.equal(r.internalErrors, 0, info);
    assert.equal(r.crashes, 0);
    assert.equal(r.controlsOk, r.controls, info);
    assert.equal(r.exactImages, r.controlImages, info);
    assert.ok(r.goldenChecked > 0);
    assert.equal(r.goldenWithinOne, r.goldenChecked, info);
  });
});

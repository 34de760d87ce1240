/**
 * The session worker's report of a call's run time (src/engine/worker.ts): calls queued behind
 * one another on one worker are each timed from their own start, so the times reported cannot
 * add up to more than the wall time the calls took together. (Timed from their arrival, a call
 * behind k others would report k + 1 calls' time: the metric and Retry-After's rate read high.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { batchBuffers, Engine } from '../../src/engine/index.js';

test('calls queued on one worker report their own run time, not the time they waited', async () => {
  const engine = new Engine({ graphPath: 'models/digits16/jfdl.onnx', providers: ['cpu'], intraOpThreads: 1, workers: 1 });
  try {
    await engine.load();
    const rows = 32;
    const n = 16 * 16;
    const call = () => {
      const b = batchBuffers(rows, n);
      b.x.fill(0.25);
      b.sigma.fill(2.5);
      return engine.run(0, rows, [1, 16, 16], b);
    };
    await call(); // untimed: first-call allocations
    const t0 = performance.now();
    const outs = await Promise.all([call(), call(), call(), call()]);
    const wall = performance.now() - t0;
    const reported = outs.reduce((a, o) => a + o.runMs, 0);
    assert.ok(outs.every((o) => o.runMs > 0));
    assert.ok(reported <= wall, `one single-threaded worker reported ${reported.toFixed(2)} ms of runs within ${wall.toFixed(2)} ms`);
  } finally {
    await engine.close();
  }
});

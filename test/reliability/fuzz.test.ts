/**
 * CI version of the hostile-input fuzzing (npm run reliability runs ≥ 10,000): 1,000 requests
 * from the fast-check generator over real HTTP; the first bad answer fails the property and
 * fast-check shrinks it to a minimal request. FUZZ_SEED picks another seed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTarget } from './suite.js';
import { fixtureModels, runFuzz } from './fuzz.js';

describe('reliability: hostile inputs (CI size)', () => {
  const target = useTarget();

  test('1,000 hostile requests: only 2xx/4xx JSON answers, no 5xx, no crash, memory back to baseline', { timeout: 240_000 }, async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 42);
    const r = await runFuzz(target(), fixtureModels(), { n: 1000, seed, shrink: true, timeLimitMs: 180_000 });
    assert.equal(r.inputs, 1000, `ran ${r.inputs} inputs (seed ${seed})`);
    assert.equal(r.fiveXX, 0);
    assert.deepEqual(r.failures, []);
    assert.equal(r.crashes, 0);
    assert.ok(r.kinds >= 40, `only ${r.kinds} kinds of request were generated`);
    assert.ok((r.statuses['200'] ?? 0) > 0 && (r.statuses['400'] ?? 0) > 0, JSON.stringify(r.statuses));
    assert.ok(r.heapGrowthMB <= 16, `live heap grew ${r.heapGrowthMB} MB`);
    assert.ok(r.rssGrowthMB <= 64, `RSS grew ${r.rssGrowthMB} MB`);
  });
});

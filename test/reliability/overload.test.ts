/** CI version of the overload test: 2 s capacity, 4 s at 4× (npm run reliability: 30 s). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useTarget } from './suite.js';
import { runOverload } from './overload.js';

describe('reliability: overload at 4× capacity (CI size)', () => {
  const QUEUE_LIMIT = 64;
  const target = useTarget({ QUEUE_LIMIT: String(QUEUE_LIMIT), REQUEST_DEADLINE_MS: '30000' });

  test('excess gets 503 + Retry-After at once, accepted work finishes in time, bounded queue and memory, recovery', { timeout: 120_000 }, async () => {
    const r = await runOverload(target(), { model: 'tiny-rgb8', capacityS: 2, durationS: 4, factor: 4, queueLimit: QUEUE_LIMIT, deadlineMs: 30_000 });
    const info = JSON.stringify(r);
    assert.equal(r.crashes, 0);
    assert.ok(r.offeredRps >= 3.5 * r.capacityRps, `offered ${r.offeredRps} req/s for capacity ${r.capacityRps}: ${info}`);
    assert.ok(r.rejected503 > 0, `nothing was refused: ${info}`);
    assert.equal(r.rejectedWithRetryAfter, r.rejected503, 'every 503 carries Retry-After');
    assert.ok(r.serverP99RejectMs <= 50, `the service took ${r.serverP99RejectMs} ms (p99) to refuse: ${info}`);
    assert.ok(r.ok > 0);
    assert.equal(r.deadline504, 0, info);
    assert.deepEqual(r.otherStatus, {});
    assert.equal(r.clientErrors, 0, info);
    assert.ok(r.maxOkMs < 30_000);
    assert.ok(r.maxQueueDepth <= QUEUE_LIMIT, `queue depth ${r.maxQueueDepth} > ${QUEUE_LIMIT}`);
    assert.ok(r.rssGrowthMB <= 256, `RSS grew ${r.rssGrowthMB} MB`);
    assert.equal(r.leakedLanes, 0);
    assert.ok(r.afterP50Ms <= 2 * r.idleP50Ms + 10, `latency after the burst ${r.afterP50Ms} ms vs ${r.idleP50Ms} ms idle`);
  });
});

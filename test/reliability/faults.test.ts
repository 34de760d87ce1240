/** Fault injection: broken model folders at start-up, engine workers that die (killed by the test). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runStartupFaults, runWorkerDeath } from './faults.js';

describe('reliability: faults', () => {
  test('each broken model folder is reported clearly (log, /v1/models, 503, /readyz); the healthy one serves', { timeout: 120_000 }, async () => {
    const r = await runStartupFaults();
    assert.equal(r.crashes, 0);
    assert.ok(r.healthyServes);
    assert.equal(r.readyzStatus, 200);
    for (const f of r.faults) assert.deepEqual({ name: f.name, logged: f.logged, listed: f.listed, refused: f.refused, inReadyz: f.inReadyz }, { name: f.name, logged: true, listed: true, refused: true, inReadyz: true }, `${f.name}: ${f.error}`);
  });

  test('a worker that dies: in-flight 503 (never a hang), restart, readyz 503 → 200; a crash loop gives up with 503; clean shutdown under load', { timeout: 120_000 }, async () => {
    const r = await runWorkerDeath();
    const info = JSON.stringify(r);
    assert.equal(r.crashes, 0, info);
    assert.deepEqual(r.other, [], info);
    assert.equal(r.ok + r.unavailable503, r.inFlight);
    assert.ok(r.unavailable503 > 0, `no request was in flight on the killed worker: ${info}`);
    assert.ok(r.settleMs < 10_000, info);
    assert.equal(r.readyzDuringRestart, 503, info);
    assert.equal(r.readyzAfter, 200, info);
    assert.ok(r.restartMs > 0, info);
    assert.ok(r.servesAfter);
    assert.equal(r.leakedLanes, 0);
    assert.ok(r.gaveUp, info);
    assert.ok(r.refusedAfterGiveUpMs < 1000, info);
    assert.match(r.readyzAfterGiveUp, /^503 .*engine workers down.*not restarting/);
    assert.ok(r.otherModelServes);
    assert.equal(r.shutdownUnderLoad, 'code 0');
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  admits,
  arrived,
  decide,
  expectedArrivals,
  NO_ARRIVALS,
  pickWorker,
  planCalls,
  retryAfterSeconds,
  callEnded,
  rowsPerSecond,
  throughputFrom,
  type CallPlan,
  type LaneView,
  type WorkerView,
} from '../../src/scheduler/policy.js';

/** A lane at the start of a step (nothing sent), or in flight with every part sent. */
const L = (rows: 1 | 2, inFlight = false): LaneView => ({ rows, next: inFlight ? rows : 0, pending: inFlight ? rows : 0, readyAt: 0 });
const W = (inFlight: number, ready = true): WorkerView => ({ inFlight, ready });
const fill = { targetRows: 4, depth: 2, spread: false };
/** the calls as [worker, "lane.part" ...] for readable assertions */
const show = (plans: CallPlan[]) => plans.map((p) => [p.worker, ...p.parts.map((x) => `${x.lane}.${x.part}`)]);

test('fill: ready lanes oldest first, parts together, in-flight lanes skipped, a lane that does not fit passed over', () => {
  const lanes = [L(2, true), L(2), L(1), L(2), L(1)];
  // the guided lane at 3 does not fit in the last row, the unguided one behind it does
  assert.deepEqual(show(planCalls(lanes, [W(0)], fill)), [[0, '1.0', '1.1', '2.0', '4.0']]);
  assert.deepEqual(show(planCalls(lanes, [W(0)], { ...fill, targetRows: 3 })), [[0, '1.0', '1.1', '2.0']]);
  assert.deepEqual(planCalls([], [W(0)], fill), []);
});

test('fill mixes guided and unguided lanes of any step in one call, FIFO, up to the target', () => {
  const lanes = Array.from({ length: 40 }, (_, i) => L(i % 3 === 0 ? 1 : 2));
  const [call] = planCalls(lanes, [W(0)], { ...fill, targetRows: 64 });
  assert.ok(call.parts.length <= 64 && call.parts.length >= 63);
  for (let i = 1; i < call.parts.length; i++) assert.ok(call.parts[i].lane >= call.parts[i - 1].lane);
});

test('fill goes to the least-loaded free worker; no free worker → no call', () => {
  assert.equal(planCalls([L(2)], [W(1), W(0)], fill)[0].worker, 1);
  assert.deepEqual(planCalls([L(2)], [W(2), W(2)], fill), []);
  assert.deepEqual(planCalls([L(2)], [W(0, false)], fill), [], 'a worker that is not ready takes nothing');
  assert.equal(pickWorker([W(1), W(1), W(0, false)], 2), 0);
});

test('spread: a lone guided lane runs its class row and null-class row on two idle workers', () => {
  const k = { targetRows: 32, depth: 2, spread: true };
  assert.deepEqual(show(planCalls([L(2)], [W(0), W(0)], k)), [
    [0, '0.0'],
    [1, '0.1'],
  ]);
  // 5 rows over 2 idle workers: consecutive near-equal chunks, oldest first
  assert.deepEqual(show(planCalls([L(2), L(1), L(2)], [W(0), W(0)], k)), [
    [0, '0.0', '0.1', '1.0'],
    [1, '2.0', '2.1'],
  ]);
  // one idle worker (the other busy): no spread, one call to the idle one
  assert.deepEqual(show(planCalls([L(2)], [W(1), W(0)], k)), [[1, '0.0', '0.1']]);
  // enough rows to fill a target batch on every idle worker: full batches, not a spread
  const many = Array.from({ length: 40 }, () => L(2));
  const plans = planCalls(many, [W(0), W(0)], k);
  assert.equal(plans.length, 1);
  assert.equal(plans[0].parts.length, 32);
  // spreading off (request-level batching): one call
  assert.equal(planCalls([L(2)], [W(0), W(0)], { ...k, spread: false }).length, 1);
});

test('spread picks up the part a lane has left to send', () => {
  const half: LaneView = { rows: 2, next: 1, pending: 1, readyAt: 0 };
  assert.deepEqual(show(planCalls([half, L(1)], [W(0), W(0)], { targetRows: 8, depth: 2, spread: true })), [
    [0, '0.1'],
    [1, '1.0'],
  ]);
});

test('decide: target batch now, partial batch held while workers are busy, nothing without a free worker', () => {
  const k = { targetRows: 8, maxWaitMs: 5, wait: 'fixed' as const };
  const s = { readyRows: 3, oldestReadyAt: 100, now: 100, workerFree: true, workerIdle: true, arrivalsDue: 0 };
  assert.deepEqual(decide({ ...s, readyRows: 8 }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ ...s, now: 102 }, k), { action: 'wait', ms: 3 });
  assert.deepEqual(decide({ ...s, now: 105 }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ ...s, readyRows: 8, workerFree: false, workerIdle: false }, k), { action: 'idle' });
  assert.deepEqual(decide({ ...s, readyRows: 0 }, k), { action: 'idle' });
  // busy worker: a full batch is queued behind the running call, a partial one is held
  assert.deepEqual(decide({ ...s, readyRows: 8, workerIdle: false }, k), { action: 'dispatch' });
  assert.deepEqual(decide({ ...s, readyRows: 7, now: 200, workerIdle: false }, k), { action: 'idle' });
  // lanes back from a call (readyAt −∞) go at once to an idle worker
  assert.deepEqual(decide({ ...s, oldestReadyAt: -Infinity }, { ...k, maxWaitMs: 1e6 }), { action: 'dispatch' });
  assert.deepEqual(decide(s, { ...k, maxWaitMs: 0 }), { action: 'dispatch' });
});

test('decide, adaptive: a partial batch waits only while a request is due', () => {
  const k = { targetRows: 8, maxWaitMs: 5, wait: 'adaptive' as const };
  const s = { readyRows: 2, oldestReadyAt: 100, now: 101, workerFree: true, workerIdle: true, arrivalsDue: 0.2 };
  assert.deepEqual(decide(s, k), { action: 'dispatch' }, 'company cannot come: go now');
  assert.deepEqual(decide({ ...s, arrivalsDue: 3 }, k), { action: 'wait', ms: 4 }, 'company is due: wait');
  assert.deepEqual(decide({ ...s, arrivalsDue: 3 }, { ...k, wait: 'fixed' }), { action: 'wait', ms: 4 });
  assert.deepEqual(decide({ ...s, arrivalsDue: 0.2 }, { ...k, wait: 'fixed' }), { action: 'wait', ms: 4 }, 'fixed always waits');
});

test('arrival rate: mean gap of recent arrivals, stretched by a quiet spell', () => {
  let a = arrived(NO_ARRIVALS, 0);
  assert.equal(expectedArrivals(a, 0, 2), 0, 'one arrival says nothing of the rate');
  for (let t = 1; t <= 20; t++) a = arrived(a, t * 0.5); // one every 0.5 ms
  assert.ok(Math.abs(a.gapMs - 0.5) < 0.05);
  assert.ok(Math.abs(expectedArrivals(a, 10, 2) - 4) < 0.5, 'about 4 due in the next 2 ms');
  assert.ok(expectedArrivals(a, 100, 2) < 0.03, 'after 90 ms of silence, none is due');
  // a closed-loop client: arrivals 5 ms apart (its own latency) never justify a 2 ms wait
  let c = NO_ARRIVALS;
  for (let t = 0; t < 50; t += 5) c = arrived(c, t);
  assert.ok(expectedArrivals(c, 45, 2) < 1);
});

test('admission and Retry-After', () => {
  assert.equal(admits(0, 4, 4), true);
  assert.equal(admits(1, 4, 4), false);
  assert.equal(retryAfterSeconds(10, 4, 0), 1);
  assert.equal(retryAfterSeconds(100, 4, 100), 4);
  assert.equal(retryAfterSeconds(1e9, 4, 1), 60);
});

test('throughput for Retry-After: rows/s over all workers, not one worker\'s, and not lowered by idle spells', () => {
  const near = (got: number, want: number, tol = 0.01) => assert.ok(Math.abs(got / want - 1) < tol, `${got.toFixed(1)} rows/s, expected ≈ ${want}`);
  // two workers, 32-row calls of 40 ms each, their ends staggered by 20 ms: 1600 rows/s in all
  let t = throughputFrom(0);
  for (let end = 40; end <= 4000; end += 20) t = callEnded(t, end, 32, 40);
  near(rowsPerSecond(t), 1600);
  // the same two workers ending together (0.5 ms apart): still ≈ 1600 (the smoothing sways by a few
  // percent with the phase of the pairs), no spike from the 0.5 ms gap
  t = throughputFrom(0);
  for (let end = 40; end <= 4000; end += 40) {
    t = callEnded(t, end, 32, 40);
    t = callEnded(t, end + 0.5, 32, 40);
  }
  near(rowsPerSecond(t), 1600, 0.05);
  // one worker with a second of idleness between its 40 ms calls: its rate while busy, 800
  t = throughputFrom(0);
  for (let end = 40; end <= 40_000; end += 1000) t = callEnded(t, end, 32, 40);
  near(rowsPerSecond(t), 800);
  // before any call: the warm-up's figure; then the measured calls take over
  t = throughputFrom(1200);
  near(rowsPerSecond(t), 1200);
  for (let end = 40; end <= 4000; end += 20) t = callEnded(t, end, 32, 40);
  near(rowsPerSecond(t), 1600);
  assert.equal(rowsPerSecond(throughputFrom(0)), 0, 'nothing known');
});

test('fill: a lane larger than the target still goes (alone), so it can never be stuck', () => {
  assert.deepEqual(show(planCalls([L(2), L(1)], [W(0)], { targetRows: 1, depth: 2, spread: false })), [[0, '0.0', '0.1']]);
});

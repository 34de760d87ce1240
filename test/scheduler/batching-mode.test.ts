/**
 * BATCHING=step|request: the pure eligibility rule, and the scheduler driven by a scripted backend
 * (each network call completes when the test says so), so the call compositions are exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { BatchBuffers, RunOutput } from '../../src/engine/index.js';
import type { InferenceBackend } from '../../src/scheduler/backend.js';
import { eligibility, planCalls, type BatchingMode, type LaneView } from '../../src/scheduler/policy.js';
import { Scheduler, type CallInfo } from '../../src/scheduler/index.js';

const lane = (rows: 1 | 2, inFlight: boolean, cohort: number): LaneView => ({ rows, next: inFlight ? rows : 0, pending: inFlight ? rows : 0, readyAt: 0, cohort });
const lanesOf = (lanes: LaneView[], targetRows: number, mode: BatchingMode, maxCohorts = 1) =>
  [...new Set(planCalls(lanes, [{ inFlight: 0, ready: true }], { targetRows, depth: 1, spread: false }, eligibility(lanes, mode, maxCohorts)).flatMap((c) => c.parts.map((p) => p.lane)))];

test('eligibility: step mode takes any lane; request mode only the live cohort, else only new lanes', () => {
  const lanes = [lane(2, false, 0), lane(1, false, 3), lane(2, false, 0)];
  assert.deepEqual(lanesOf(lanes, 8, 'step'), [0, 1, 2]);
  assert.deepEqual(lanesOf(lanes, 8, 'request'), [1], 'a live cohort runs alone');
  const fresh = lanes.map((l) => ({ ...l, cohort: 0 }));
  assert.deepEqual(lanesOf(fresh, 8, 'request'), [0, 1, 2], 'no live cohort: new lanes start one');
  assert.deepEqual(lanesOf(fresh, 3, 'request'), [0, 1], 'still bounded by the batch size');
  const ok = eligibility(lanes, 'request');
  assert.deepEqual(lanes.map(ok), [false, true, false]);
});

test('eligibility, request mode with two engine workers: a second cohort starts while the first is in flight, never a third', () => {
  const lanes = [lane(2, true, 1), lane(2, false, 0), lane(1, false, 0)];
  assert.deepEqual(lanesOf(lanes, 8, 'request', 1), [], 'one worker: new lanes wait for cohort 1');
  assert.deepEqual(lanesOf(lanes, 8, 'request', 2), [1, 2], 'two workers: they start cohort 2');
  const two = [lanes[0], lane(2, true, 2), lanes[2]];
  assert.deepEqual(lanesOf(two, 8, 'request', 2), [], 'two cohorts live: the new lane waits');
  const back = [lane(2, false, 1), two[1], lanes[2]];
  assert.deepEqual(lanesOf(back, 8, 'request', 2), [0], 'a live cohort that is ready runs alone');
});

/** A backend with one worker whose calls finish only when `step()` is called (D = 0 everywhere). */
class ScriptedBackend extends EventEmitter implements InferenceBackend {
  failure: Error | null = null;
  private pending: Array<{ rows: number; buf: BatchBuffers; resolve: (r: RunOutput) => void }> = [];
  constructor(private readonly n: number) {
    super();
  }
  workers() {
    return [{ inFlight: this.pending.length, ready: true }];
  }
  run(_w: number, rows: number, _chw: [number, number, number], buf: BatchBuffers): Promise<RunOutput> {
    return new Promise((resolve) => this.pending.push({ rows, buf, resolve }));
  }
  get waiting() {
    return this.pending.length;
  }
  step() {
    const p = this.pending.shift();
    if (!p) throw new Error('no call in flight');
    p.resolve({ out: new Float32Array(p.rows * this.n), buffers: p.buf, runMs: 1 });
  }
}

async function run(mode: BatchingMode) {
  const n = 3;
  const backend = new ScriptedBackend(n);
  const s = new Scheduler(backend, {
    channels: 1, height: 1, width: n, sigmaMin: 0.002, clamp: true, maxRows: 16, maxWaitMs: 0, queueLimit: 100, pipelineDepth: 1, deadlineMs: 10_000, batching: mode,
  });
  const calls: CallInfo[] = [];
  s.on('composition', (info) => calls.push(info));
  const job = (steps: number) => ({ classIndex: 0, nullClass: 1, guidance: 1.5, sigmas: [80, 10, 2, 0.5].slice(0, steps), sampler: 'ode' as const, seed: 1, numImages: 1 });
  const tick = () => new Promise((r) => setImmediate(r));
  const long = s.submit(job(4));
  await tick();
  assert.equal(backend.waiting, 1, 'the 4-step request starts at once');
  const short = s.submit(job(1)); // arrives while the long one is in its first call
  let shortDoneAfter = -1;
  void short.then(() => (shortDoneAfter = calls.length));
  for (let i = 0; i < 8 && backend.waiting; i++) {
    backend.step();
    await tick();
    await tick();
  }
  await Promise.all([long, short]);
  s.close();
  return { calls, shortDoneAfter };
}

test('step-level: a request that arrives mid-batch joins the next call and leaves when done', async () => {
  const { calls, shortDoneAfter } = await run('step');
  assert.equal(calls.length, 4, 'the short request rode along in the long one’s second call');
  assert.equal(calls[1].requests, 2);
  assert.equal(shortDoneAfter, 2, 'the 1-step request finished after 2 calls, not after the 4-step one');
});

test('request-level: a request that arrives mid-batch waits for the whole batch', async () => {
  const { calls, shortDoneAfter } = await run('request');
  assert.equal(calls.length, 5, '4 calls of the long request, then 1 of the short one');
  assert.ok(calls.every((c) => c.requests === 1), 'never shared');
  assert.equal(shortDoneAfter, 5);
});

test('progress: a multi-step, multi-image request reports its lane steps after every call that advanced it', async () => {
  const backend = new ScriptedBackend(3);
  const s = new Scheduler(backend, { channels: 1, height: 1, width: 3, sigmaMin: 0.002, clamp: true, maxRows: 16, maxWaitMs: 0, queueLimit: 100, pipelineDepth: 1, deadlineMs: 10_000 });
  const seen: Array<[number, number]> = [];
  const done = s.submit({ classIndex: 0, nullClass: 1, guidance: 2, sigmas: [80, 10, 2, 0.5], sampler: 'ode', seed: 1, numImages: 2, onProgress: (d, t) => seen.push([d, t]) });
  const tick = () => new Promise((r) => setImmediate(r));
  for (let i = 0; i < 10 && backend.waiting; i++) {
    backend.step();
    await tick();
  }
  await done;
  s.close();
  // 2 images × 4 steps, both lanes in every call: 2 lane steps per call
  assert.deepEqual(seen, [[2, 8], [4, 8], [6, 8], [8, 8]]);
});

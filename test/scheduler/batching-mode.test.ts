/**
 * BATCHING=step|request: the pure eligibility rule, and the scheduler driven by a scripted engine
 * (each network call completes when the test says so), so the call compositions are exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { BatchBuffers, Engine, RunOutput } from '../../src/engine/index.js';
import { eligibility, planBatch, type BatchingMode } from '../../src/scheduler/policy.js';
import { Scheduler, type CallInfo } from '../../src/scheduler/index.js';

test('eligibility: step mode takes any lane; request mode only the live cohort, else only new lanes', () => {
  const lanes = [
    { rows: 2 as const, inFlight: false, cohort: 0 },
    { rows: 1 as const, inFlight: false, cohort: 3 },
    { rows: 2 as const, inFlight: false, cohort: 0 },
  ];
  assert.deepEqual(planBatch(lanes, 8, 'step').picked, [0, 1, 2]);
  assert.deepEqual(planBatch(lanes, 8, 'request').picked, [1], 'a live cohort runs alone');
  const fresh = lanes.map((l) => ({ ...l, cohort: 0 }));
  assert.deepEqual(planBatch(fresh, 8, 'request').picked, [0, 1, 2], 'no live cohort: new lanes start one');
  assert.deepEqual(planBatch(fresh, 3, 'request').picked, [0, 1], 'still bounded by max rows');
  const ok = eligibility(lanes, 'request');
  assert.deepEqual(lanes.map(ok), [false, true, false]);
});

test('eligibility, request mode with two engine workers: a second cohort starts while the first is in flight, never a third', () => {
  const lanes = [
    { rows: 2 as const, inFlight: true, cohort: 1 },
    { rows: 2 as const, inFlight: false, cohort: 0 },
    { rows: 1 as const, inFlight: false, cohort: 0 },
  ];
  assert.deepEqual(planBatch(lanes, 8, 'request', 1).picked, [], 'one worker: new lanes wait for cohort 1');
  assert.deepEqual(planBatch(lanes, 8, 'request', 2).picked, [1, 2], 'two workers: they start cohort 2');
  const two = [{ ...lanes[0] }, { ...lanes[1], inFlight: true, cohort: 2 }, lanes[2]];
  assert.deepEqual(planBatch(two, 8, 'request', 2).picked, [], 'two cohorts live: the new lane waits');
  const back = [{ ...lanes[0], inFlight: false }, two[1], lanes[2]];
  assert.deepEqual(planBatch(back, 8, 'request', 2).picked, [0], 'a live cohort that is ready runs alone');
});

/** An engine with one worker whose calls finish only when `step()` is called. */
class ScriptedEngine extends EventEmitter {
  failure: Error | null = null;
  readonly workerCount = 1;
  private pending: Array<{ rows: number; buf: BatchBuffers; resolve: (r: RunOutput) => void }> = [];
  constructor(private readonly n: number) {
    super();
  }
  pick(depth: number) {
    return this.pending.length < depth ? 0 : -1;
  }
  inFlight() {
    return [this.pending.length];
  }
  run(_w: number, rows: number, _chw: number[], buf: BatchBuffers): Promise<RunOutput> {
    return new Promise((resolve) => this.pending.push({ rows, buf, resolve }));
  }
  get waiting() {
    return this.pending.length;
  }
  /** finish the oldest call: output = 0 everywhere (D = 0) */
  step() {
    const p = this.pending.shift();
    if (!p) throw new Error('no call in flight');
    p.resolve({ out: new Float32Array(p.rows * this.n), buffers: p.buf, runMs: 1 });
  }
}

async function run(mode: BatchingMode) {
  const n = 3;
  const engine = new ScriptedEngine(n);
  const s = new Scheduler(engine as unknown as Engine, {
    channels: 1, height: 1, width: n, sigmaMin: 0.002, clamp: true, maxRows: 16, maxWaitMs: 0, queueLimit: 100, pipelineDepth: 1, deadlineMs: 10_000, batching: mode,
  });
  const calls: CallInfo[] = [];
  s.onCall = (info) => calls.push(info);
  const job = (steps: number) => ({ classIndex: 0, nullClass: 1, guidance: 1.5, sigmas: [80, 10, 2, 0.5].slice(0, steps), sampler: 'ode' as const, seed: 1, numImages: 1 });
  const tick = () => new Promise((r) => setImmediate(r));
  const long = s.submit(job(4));
  await tick();
  assert.equal(engine.waiting, 1, 'the 4-step request starts at once');
  const short = s.submit(job(1)); // arrives while the long one is in its first call
  let shortDoneAfter = -1;
  void short.then(() => (shortDoneAfter = calls.length));
  for (let i = 0; i < 8 && engine.waiting; i++) {
    engine.step();
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

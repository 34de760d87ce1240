import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultSchedule, karrasSchedule, sigmasProblem } from '../../src/sampler/schedule.js';
import { combineGuidance, consistencyStep, initialLatent, odeStep, quantise } from '../../src/sampler/step.js';
import { sampleOne } from '../../src/sampler/reference.js';

const range = { min: 0.002, max: 80 };

test('karras schedule: endpoints, monotone, n = 1', () => {
  assert.deepEqual(karrasSchedule(1, range), [80]);
  const s = karrasSchedule(5, range);
  assert.equal(s.length, 5);
  assert.ok(Math.abs(s[0] - 80) < 1e-9);
  assert.ok(Math.abs(s[4] - 0.002) < 1e-12);
  for (let i = 1; i < s.length; i++) assert.ok(s[i] < s[i - 1]);
  // EDM ρ = 7 midpoint for n = 3: ((80^(1/7) + 0.002^(1/7)) / 2)^7
  const mid = ((80 ** (1 / 7) + 0.002 ** (1 / 7)) / 2) ** 7;
  assert.ok(Math.abs(karrasSchedule(3, range)[1] - mid) < 1e-12);
});

test('defaultSchedule prefers the manifest, falls back to karras', () => {
  const schedules = { '1': [80], '2': [80, 2] };
  assert.deepEqual(defaultSchedule(2, schedules, range), [80, 2]);
  assert.deepEqual(defaultSchedule(3, schedules, range), karrasSchedule(3, range));
});

test('sigmasProblem', () => {
  assert.equal(sigmasProblem([80, 2], range, 8), null);
  assert.equal(sigmasProblem([0.002], range, 8), null);
  assert.match(sigmasProblem([], range, 8)!, /at least one/);
  assert.match(sigmasProblem([2, 80], range, 8)!, /descending/);
  assert.match(sigmasProblem([80, 80], range, 8)!, /descending/);
  assert.match(sigmasProblem([81], range, 8)!, /outside/);
  assert.match(sigmasProblem([80, 0.001], range, 8)!, /outside/);
  assert.match(sigmasProblem([80, 40, 20], range, 2)!, /at most 2/);
  assert.match(sigmasProblem([NaN], range, 8)!, /finite/);
});

test('combineGuidance: w = 0 unconditional, w = 1 conditional, clamp', () => {
  const dC = Float32Array.from([0.5, -0.5, 2]);
  const dU = Float32Array.from([0.1, 0.1, 0.1]);
  assert.deepEqual(Array.from(combineGuidance(dC, dU, 0, false, new Float32Array(3))), Array.from(dU));
  assert.deepEqual(Array.from(combineGuidance(dC, dU, 1, false, new Float32Array(3))), Array.from(dC));
  assert.deepEqual(Array.from(combineGuidance(dC, null, 1, true, new Float32Array(3))), [0.5, -0.5, 1]);
  const g = combineGuidance(dC, dU, 1.5, false, new Float32Array(3));
  assert.equal(g[0], Math.fround(Math.fround(0.1) + 1.5 * (Math.fround(0.5) - Math.fround(0.1))));
  assert.equal(combineGuidance(Float32Array.from([-3]), Float32Array.from([0]), 2, true, new Float32Array(1))[0], -1);
});

test('ode and consistency updates', () => {
  const x = Float32Array.from([10, -4]);
  const d = Float32Array.from([0.5, -0.5]);
  odeStep(x, d, 10, 2);
  assert.equal(x[0], Math.fround(0.5 + 2 * ((10 - 0.5) / 10)));
  assert.equal(x[1], Math.fround(-0.5 + 2 * ((-4 + 0.5) / 10)));
  const y = Float32Array.from([9, 9]);
  consistencyStep(y, d, Float32Array.from([1, -1]), 2, 0.002);
  const s = Math.sqrt(4 - 0.002 ** 2);
  assert.equal(y[0], Math.fround(0.5 + s));
  assert.equal(y[1], Math.fround(-0.5 - s));
  assert.deepEqual(Array.from(initialLatent(Float32Array.from([1, -0.5]), 80)), [80, -40]);
});

test('quantise: rounding half up and clamping', () => {
  const q = quantise(Float32Array.from([-1, 1, 0, -2, 2, (1 / 127.5) - 1, 0.0039215686]));
  assert.deepEqual(Array.from(q), [0, 255, 128, 0, 255, 1, 128]);
});

test('reference sampler: guided lane uses class and null rows; identity denoiser', async () => {
  const calls: number[][] = [];
  const f = (x: Float32Array, _s: number, labels: number[]) => {
    calls.push(labels);
    // an "oracle" that always predicts 0.25 for the class and -0.25 for the null row
    const out = new Float32Array(x.length);
    const n = x.length / labels.length;
    labels.forEach((c, r) => out.fill(c === 4 ? -0.25 : 0.25, r * n, (r + 1) * n));
    return out;
  };
  const base = { sigmas: [80, 2], sigmaMin: 0.002, classIndex: 1, nullClass: 4, sampler: 'ode' as const, clamp: true, seed: 1, index: 0, size: 12 };
  const r = await sampleOne({ ...base, guidance: 2 }, f);
  assert.deepEqual(calls, [[1, 4], [1, 4]]);
  // D = -0.25 + 2·(0.25 + 0.25) = 0.75
  for (const v of r.denoised) assert.equal(v, 0.75);
  assert.equal(r.pixels[0], Math.floor(1.75 * 127.5 + 0.5));
  calls.length = 0;
  await sampleOne({ ...base, guidance: 1, sampler: 'consistency' }, f);
  assert.deepEqual(calls, [[1], [1]]);
});

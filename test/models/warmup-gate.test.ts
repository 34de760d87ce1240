/**
 * The warm-up gate (src/models/warmup-gate.ts): graphs of a size warm up one after another, a
 * small graph never waits behind a big one, waiting graphs start smallest first. Warm-ups here
 * are promises the test resolves by hand, so the order is exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIGGER, WarmupGate } from '../../src/models/warmup-gate.js';

/** A warm-up the test ends when it likes; `log` records starts and ends. */
function warmup(gate: WarmupGate, name: string, bytes: number, log: string[]) {
  let end!: () => void;
  const done = gate.run(bytes, () => {
    log.push(`start ${name}`);
    return new Promise<void>((r) => (end = () => (log.push(`end ${name}`), r())));
  });
  return { done, end: () => end() };
}
const tick = () => new Promise((r) => setImmediate(r));

test('mayStart: only behind warm-ups at least BIGGER times the size', () => {
  assert.equal(WarmupGate.mayStart(10, []), true);
  assert.equal(WarmupGate.mayStart(10, [10 * BIGGER]), true);
  assert.equal(WarmupGate.mayStart(10, [10 * BIGGER - 1]), false);
  assert.equal(WarmupGate.mayStart(10, [10]), false);
  assert.equal(WarmupGate.mayStart(10, [1e9, 5]), false);
});

test('graphs of a size warm up one after another', async () => {
  const gate = new WarmupGate();
  const log: string[] = [];
  const cm = warmup(gate, 'cm', 1000, log);
  const jfdl = warmup(gate, 'jfdl', 1001, log);
  await tick();
  assert.deepEqual(log, ['start cm']);
  cm.end();
  await cm.done;
  await tick();
  assert.deepEqual(log, ['start cm', 'end cm', 'start jfdl']);
  jfdl.end();
  await jfdl.done;
});

test('a small graph starts at once beside a big one; a big one waits for the small ones', async () => {
  const gate = new WarmupGate();
  const log: string[] = [];
  const big = warmup(gate, 'big', 1_200_000_000, log);
  await tick();
  const small = warmup(gate, 'small', 7_000_000, log);
  await tick();
  assert.deepEqual(log, ['start big', 'start small'], 'the small graph does not wait for the big one');
  const big2 = warmup(gate, 'big2', 1_100_000_000, log);
  await tick();
  big.end();
  await big.done;
  await tick();
  assert.deepEqual(log.slice(2), ['end big'], 'the second big graph waits while the small one runs');
  small.end();
  await small.done;
  await tick();
  assert.deepEqual(log.slice(3), ['end small', 'start big2']);
  big2.end();
  await big2.done;
  assert.deepEqual(gate.runningBytes, []);
});

test('waiting graphs start smallest first, and a failed warm-up lets the next one start', async () => {
  const gate = new WarmupGate();
  const log: string[] = [];
  const first = warmup(gate, 'first', 100, log);
  await tick();
  const b = warmup(gate, 'b', 90, log);
  const a = warmup(gate, 'a', 80, log);
  const failing = gate.run(95, async () => {
    log.push('start failing');
    throw new Error('boom');
  });
  await tick();
  first.end();
  await first.done;
  await tick();
  assert.equal(log.at(-1), 'start a');
  a.end();
  await a.done;
  await tick();
  assert.equal(log.at(-1), 'start b');
  b.end();
  await b.done;
  await assert.rejects(failing, /boom/);
  assert.deepEqual(gate.runningBytes, []);
});

/**
 * POST /v1/generate/stream: progress events for a long request, then the same result as
 * POST /v1/generate; a bad request is refused before the stream starts. And the per-model limits
 * derived from the warm-up's measured cost, as /v1/models reports them and the route enforces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { modelLimits } from '../../src/scheduler/limits.js';
import { makeApp, tinyGuided } from '../helpers.js';

/** The events of a text/event-stream body, in order. */
function parseEvents(text: string): Array<{ event: string; data: any }> {
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1];
      return { event, data: data === undefined ? undefined : JSON.parse(data) };
    });
}

describe('generate with progress (server-sent events)', () => {
  let app: FastifyInstance;
  const g = tinyGuided();
  before(async () => {
    app = await makeApp();
  });
  after(async () => app.close());

  test('a 4-step, 3-image request reports progress up to images × steps, then the same result as /v1/generate', async () => {
    const body = { model: g.model, class: 2, guidance: 1.5, steps: 4, num_images: 3, seed: 99 };
    const res = await app.inject({ method: 'POST', url: '/v1/generate/stream', payload: body });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const events = parseEvents(res.body);
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
    assert.ok(progress.length >= 2, 'progress at the start and as the request advanced');
    assert.deepEqual(progress[0], { done: 0, total: 12 });
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done > progress[i - 1].done && progress[i].total === 12);
    assert.equal(progress.at(-1)!.done, 12);
    const last = events.at(-1)!;
    assert.equal(last.event, 'result');
    const plain = await app.inject({ method: 'POST', url: '/v1/generate', payload: body });
    assert.deepEqual(
      last.data.images.map((i: { b64: string }) => i.b64),
      plain.json().images.map((i: { b64: string }) => i.b64),
      'the streamed images are the images /v1/generate returns for the same seed',
    );
    assert.deepEqual(last.data.params, plain.json().params);
  });

  test('a bad request is refused with its status before any event', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate/stream', payload: { model: g.model, class: 99 } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'unknown_class');
  });

  test('a request past its deadline ends the stream with an error event', async () => {
    const slow = await makeApp({ REQUEST_DEADLINE_MS: '1', MAX_WAIT_MS: '200', BATCH_WAIT: 'fixed' });
    try {
      const res = await slow.inject({ method: 'POST', url: '/v1/generate/stream', payload: { model: g.model, class: 0, steps: 4 } });
      assert.equal(res.statusCode, 200);
      const events = parseEvents(res.body);
      assert.deepEqual(events.at(-1), { event: 'error', data: { error: 'deadline_exceeded', message: 'the request did not finish within 1 ms' } });
    } finally {
      await slow.close();
    }
  });
});

describe('per-model limits from the measured cost', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await makeApp();
  });
  after(async () => app.close());

  test('without REQUEST_DEADLINE_MS and QUEUE_LIMIT, each model reports limits derived from its warm-up', async () => {
    const { models } = (await app.inject({ url: '/v1/models' })).json();
    for (const m of models.filter((x: { status: string }) => x.status === 'ready')) {
      const profile: Array<{ rows: number; rows_per_s: number }> = m.engine.batch_profile;
      // the wiring: /v1/models shows what modelLimits derives from the reported measurement
      const want = modelLimits({
        cost: { msPerRow: m.engine.ms_per_row, rowsPerS: Math.max(...profile.map((p) => p.rows_per_s)) },
        rowsPerImage: m.default_steps * (m.null_class !== null ? 2 : 1),
        maxImages: 16,
      });
      assert.equal(m.limits.deadline_ms, want.deadlineMs, m.name);
      assert.ok(Math.abs(m.limits.queue_limit - want.queueLimit) <= 1, `${m.name}: ${m.limits.queue_limit} vs ${want.queueLimit} (rounding of the reported rate)`);
      assert.equal(app.registry.get(m.name)!.scheduler!.deadlineMs, m.limits.deadline_ms);
    }
  });

  test('explicit configuration overrides the derived limits, and num_images is refused above the model\'s largest request', async () => {
    const fixed = await makeApp({ REQUEST_DEADLINE_MS: '7000', QUEUE_LIMIT: '20', MAX_IMAGES: '20' });
    try {
      const m = (await fixed.inject({ url: `/v1/models/${tinyGuided().model}` })).json();
      assert.deepEqual(m.limits, { deadline_ms: 7000, queue_limit: 20, max_images: 20 });
      const e = fixed.registry.get(m.name)!;
      // a model whose queue holds fewer images than MAX_IMAGES refuses larger requests by name
      e.limits = { ...e.limits!, maxImages: 3, queueLimit: 3 };
      const r = await fixed.inject({ method: 'POST', url: '/v1/generate', payload: { model: m.name, class: 0, num_images: 4 } });
      assert.equal(r.statusCode, 400);
      assert.equal(r.json().field, 'num_images');
      assert.match(r.json().message, /for model tiny-rgb8 \(its queue holds 3 images\)/);
    } finally {
      await fixed.close();
    }
  });
});

/**
 * A lone request on an idle service spreads its rows over the idle single-threaded workers (its
 * class row on one, its null-class row on the other: policy.planCalls "spread"). The graphs are
 * batch-invariant, so this must not change a single byte: served alone with 2 workers (split) and
 * with 1 worker (never split), every image is identical — on each shipped graph and the fixture.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { FIXTURES, makeApp } from '../helpers.js';

type Call = { worker: number; rows: number; composition: Array<{ request: number; index: number; step: number; part: number }> };

for (const dir of [FIXTURES, 'models']) {
  describe(`split across workers (${dir})`, () => {
    let split: FastifyInstance;
    let whole: FastifyInstance;
    before(async () => {
      split = await makeApp({ MODELS_DIR: dir, ENGINE_WORKERS: '2' });
      whole = await makeApp({ MODELS_DIR: dir, ENGINE_WORKERS: '1' });
    });
    after(async () => {
      await split.close();
      await whole.close();
    });

    test('a lone request gives the same bytes split over 2 workers as on 1', async () => {
      const guided = [...split.registry.entries.values()].filter((e) => e.status === 'ready' && e.graph!.null_class !== null);
      assert.ok(guided.length > 0);
      for (const e of guided) {
        for (const body of [
          { class: 1, guidance: 1.5, steps: 2, seed: 11 },
          { class: 0, guidance: 2, steps: 3, seed: 12, sampler: 'consistency' },
          { class: 2, guidance: 0.5, steps: 2, seed: 13, num_images: 3 },
          { class: 3, guidance: 1, steps: 2, seed: 14, num_images: 2 },
        ]) {
          const payload = { model: e.name, debug: true, ...body };
          // one at a time: each request finds both workers idle
          const a = await split.inject({ method: 'POST', url: '/v1/generate', payload });
          const b = await whole.inject({ method: 'POST', url: '/v1/generate', payload });
          assert.equal(a.statusCode, 200, a.body);
          assert.equal(b.statusCode, 200, b.body);
          const ja = a.json();
          const jb = b.json();
          assert.deepEqual(
            ja.images.map((i: { b64: string }) => i.b64),
            jb.images.map((i: { b64: string }) => i.b64),
            `${e.name} ${JSON.stringify(body)}: split and unsplit images differ`,
          );
          const calls: Call[] = ja.debug.calls;
          // the request really was spread: some step ran on both workers at once
          const workersPerStep = new Map<number, Set<number>>();
          for (const c of calls) for (const p of c.composition) (workersPerStep.get(p.step) ?? workersPerStep.set(p.step, new Set()).get(p.step)!).add(c.worker);
          assert.ok([...workersPerStep.values()].some((s) => s.size === 2), `${e.name} ${JSON.stringify(body)}: never split`);
          for (const c of jb.debug.calls as Call[]) assert.equal(c.worker, 0);
        }
      }
    });
  });
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { decodePlanar, makeApp, tempModels, tinyGuided, tinyManifest } from '../helpers.js';

describe('POST /v1/generate on the tiny fixture', () => {
  let app: FastifyInstance;
  const m = tinyManifest();
  const g = tinyGuided();
  const post = (payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/generate', payload: payload as object, headers });

  before(async () => {
    app = await makeApp({ MAX_WAIT_MS: '5' });
  });
  after(async () => app.close());

  test('JSON response: images, seed, params, timings', async () => {
    const res = await post({ model: g.model, class: 1, guidance: 1.5, steps: 2, seed: 42, num_images: 2 });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.model, g.model);
    assert.equal(body.seed, 42);
    assert.equal(body.images.length, 2);
    assert.deepEqual(body.images.map((i: { index: number }) => i.index), [0, 1]);
    assert.equal(body.images[0].mime, 'image/png');
    const png = Buffer.from(body.images[0].b64, 'base64');
    assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
    assert.deepEqual(body.params, { class: 1, guidance: 1.5, steps: 2, sigmas: m.schedules['2'] ?? body.params.sigmas, sampler: m.default_sampler });
    for (const k of ['queue', 'compute', 'encode', 'total']) assert.equal(typeof body.timings_ms[k], 'number');
    assert.notEqual(body.images[0].b64, body.images[1].b64, 'images of one request differ (different Philox keys)');
  });

  test('class by name equals class by index; default model and random seed', async () => {
    const a = (await post({ model: g.model, class: 2, seed: 5 })).json();
    const b = (await post({ model: g.model, class: m.classes[2], seed: 5 })).json();
    assert.equal(a.images[0].b64, b.images[0].b64);
    const r = await post({ class: 0 });
    assert.equal(r.statusCode, 200);
    const seed = r.json().seed;
    assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
    assert.equal(r.json().params.guidance, g.guidance.default);
  });

  test('POST /v1/generate/image → one raw image, its type from format or Accept, seed in X-Seed', async () => {
    const image = (payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/generate/image', payload: payload as object, headers });
    const signature = {
      'image/png': (b: Buffer) => b.subarray(1, 4).toString('ascii') === 'PNG',
      'image/webp': (b: Buffer) => b.subarray(8, 12).toString('ascii') === 'WEBP',
      'image/jpeg': (b: Buffer) => b[0] === 0xff && b[1] === 0xd8,
    } as const;
    for (const [type, sig] of Object.entries(signature)) {
      // by Accept, and by format (with no Accept)
      for (const res of [await image({ model: g.model, class: 0, seed: 9 }, { accept: type }), await image({ model: g.model, class: 0, seed: 9, format: type.slice(6) })]) {
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['content-type'], type);
        assert.equal(res.headers['x-seed'], '9');
        assert.equal(res.headers['x-model'], g.model);
        assert.match(String(res.headers['server-timing']), /^queue;dur=[\d.]+, compute;dur=[\d.]+, encode;dur=[\d.]+$/);
        assert.ok(sig(res.rawPayload), type);
      }
    }
    // png without a preference; the same bytes as image 0 of the JSON answer
    const raw = await image({ model: g.model, class: 0, seed: 9 });
    assert.equal(raw.headers['content-type'], 'image/png');
    const json = (await post({ model: g.model, class: 0, seed: 9 })).json();
    assert.equal(raw.rawPayload.toString('base64'), json.images[0].b64);
    // one image only: num_images and debug are not fields of this operation
    const many = await image({ model: g.model, class: 0, num_images: 2 });
    assert.equal(many.statusCode, 400);
    assert.equal(many.json().field, 'num_images');
  });

  test('scale and formats in JSON', async () => {
    const res = await post({ model: g.model, class: 0, seed: 1, scale: 4, format: 'webp' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().images[0].mime, 'image/webp');
    const sharp = (await import('sharp')).default;
    const meta = await sharp(Buffer.from(res.json().images[0].b64, 'base64')).metadata();
    assert.equal(meta.width, m.image.width * 4);
    assert.equal(meta.height, m.image.height * 4);
  });

  test('determinism: the same request twice gives identical bytes (both samplers, explicit sigmas)', async () => {
    for (const extra of [{}, { sampler: 'consistency' }, { sigmas: [m.sigma.max, 1.0, 0.1] }, { guidance: 1 }]) {
      const req = { model: g.model, class: 3, seed: 123, num_images: 3, ...extra };
      const a = (await post(req)).json();
      const b = (await post(req)).json();
      assert.deepEqual(a.images, b.images, JSON.stringify(extra));
    }
  });

  test('a seed served alone equals the same seed inside a full batch of other requests', async () => {
    const req = { model: g.model, class: 1, guidance: 2, steps: 3, seed: 777 };
    const alone = (await post(req)).json();
    // fill many batches with unrelated traffic of other steps/guidance, the probe in the middle
    const noise = Array.from({ length: 40 }, (_, i) => post({ model: g.model, class: i % 4, guidance: i % 3 ? 1 : 1.7, steps: 1 + (i % 4), seed: i, num_images: 2 }));
    const probe = post({ ...req, num_images: 4 });
    const [crowded] = await Promise.all([probe, ...noise]);
    const c = crowded.json();
    assert.equal(c.images[0].b64, alone.images[0].b64);
    const pa = await decodePlanar(Buffer.from(alone.images[0].b64, 'base64'), m.image.channels);
    const pc = await decodePlanar(Buffer.from(c.images[0].b64, 'base64'), m.image.channels);
    assert.deepEqual(pa, pc);
  });

  test('step-level batching: 1-, 2- and 4-step requests with different guidance share network calls', async () => {
    const slow = await makeApp({ MAX_WAIT_MS: '40', BATCH_WAIT: 'fixed', MAX_BATCH: '64', BATCH_TARGET_ROWS: '64', ENGINE_WORKERS: '1' });
    try {
      const reqs = [
        { model: g.model, class: 0, steps: 1, guidance: 1, seed: 1, debug: true },
        { model: g.model, class: 1, steps: 2, guidance: 1.5, seed: 2, debug: true },
        { model: g.model, class: 2, steps: 4, guidance: 0.5, seed: 3, debug: true, sampler: 'consistency' },
      ];
      const res = await Promise.all(reqs.map((r) => slow.inject({ method: 'POST', url: '/v1/generate', payload: r })));
      const bodies = res.map((r) => r.json());
      const calls = bodies.map((b) => b.debug.calls as Array<{ call: number; rows: number; requests: number; composition: Array<{ request: number; step: number; rows: number; part: number }> }>);
      // each request took part in as many calls as it has steps
      assert.deepEqual(calls.map((c) => c.length), [1, 2, 4]);
      // the first call carried all three (1 + 2 + 2 rows: unguided 1 row, guided 2 rows)
      const first = calls[0][0];
      assert.equal(first.requests, 3);
      assert.equal(first.rows, 5);
      assert.ok(calls[1].some((c) => c.call === first.call) && calls[2].some((c) => c.call === first.call));
      // the 1-step request left at once; the next call had the other two at step 1
      const second = calls[1][1];
      assert.equal(second.requests, 2);
      assert.deepEqual(second.composition.filter((r) => r.part === 0).map((r) => r.step), [1, 1], 'one entry per row: the lanes at step 1');
      assert.equal(second.composition.length, second.rows);
      assert.ok(calls[2].some((c) => c.call === second.call));
      // later calls carry the 4-step request alone, at steps 2 and 3
      assert.deepEqual(calls[2].slice(2).map((c) => c.composition[0].step), [2, 3]);
      assert.equal(slow.registry.get(g.model)!.scheduler!.queueDepth, 0);
    } finally {
      await slow.close();
    }
  });
});

describe('guidance on a plain CM', () => {
  let app: FastifyInstance;
  before(async () => {
    const dir = tempModels({
      plaincm: (mm) => {
        mm.graphs = [{ ...mm.graphs.find((x: { null_class: unknown }) => x.null_class !== null), model: 'plaincm', kind: 'cm', null_class: null, guidance: { default: 1, min: 1, max: 1 } }];
      },
    });
    app = await makeApp({ MODELS_DIR: dir });
  });
  after(async () => app.close());

  test('guidance ≠ 1 → 400 naming the missing guidance embedding; guidance 1 works', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'plaincm', class: 0, guidance: 1.5 } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'guidance_unsupported');
    assert.equal(res.json().field, 'guidance');
    assert.match(res.json().message, /no guidance embedding/);
    const ok = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'plaincm', class: 0 } });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().params.guidance, 1);
  });
});

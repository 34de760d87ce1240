/**
 * An imported openai/consistency_models checkpoint, end to end: the tiny fixture
 * (test/fixtures/imported/tiny-openai, made by `python3 -m training tiny-openai` from a
 * random-weight checkpoint in that repository's format: import-openai, then a few align
 * iterations) against its PyTorch golden vectors, and both of its graphs served by the real app.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { testConfig } from './test-config.js';
import { goldenRowDiffs, type GoldenNetwork } from '../scripts/golden-rows.js';
import { ManifestSchema } from '../src/models/manifest.js';
import { decodePlanar } from './helpers.js';

const ROOT = 'test/fixtures/imported';
const DIR = join(ROOT, 'tiny-openai');
const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')));
const golden = JSON.parse(readFileSync('test/golden/tiny-openai.json', 'utf8')) as { network: GoldenNetwork[] };
const guided = manifest.graphs.find((g) => g.kind === 'jfdl') ?? assert.fail('no JFDL graph');
const plain = manifest.graphs.find((g) => g.kind === 'cm') ?? assert.fail('no CM graph');

describe('imported openai UNet: ONNX vs PyTorch', () => {
  test('every σ from 80 down to 0.002, both graphs: max abs difference ≤ 1e-4', async (t) => {
    const sigmas = new Set<number>();
    let worst = 0;
    for (const v of golden.network) {
      for (const r of await goldenRowDiffs(DIR, v)) {
        t.diagnostic(`${r.graph} σ=${+r.sigma.toPrecision(6)} class=${r.classLabel}: max abs ${r.maxAbs.toExponential(2)}`);
        assert.ok(r.maxAbs <= 1e-4, `${r.graph} σ=${r.sigma}: max abs ${r.maxAbs}`);
        worst = Math.max(worst, r.maxAbs);
        sigmas.add(Math.fround(r.sigma));
      }
    }
    t.diagnostic(`max abs difference over all rows: ${worst.toExponential(2)}`);
    assert.ok(sigmas.has(Math.fround(80)) && sigmas.has(Math.fround(0.002)), 'the golden rows span σ 80 … 0.002');
    assert.ok(golden.network.some((v) => v.graph === guided.file && v.class_labels.includes(guided.null_class!)), 'the null class is checked');
  });
});

describe('imported openai UNet: served by the real app', () => {
  let app: FastifyInstance;
  const post = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/generate', payload });

  before(async () => {
    app = await buildApp(testConfig({ MODELS_DIR: ROOT, INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu', MAX_WAIT_MS: '5' }));
    await app.registry.loadAll();
  });
  after(async () => app.close());

  test('both graphs listed: the CM with guidance fixed at 1, the JFDL model guided; the import defaults', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(res.statusCode, 200);
    const models = res.json().models as Array<Record<string, any>>;
    const byName = new Map(models.map((m) => [m.name, m]));
    const cm = byName.get(plain.model) ?? assert.fail(`${plain.model} not served`);
    const jfdl = byName.get(guided.model) ?? assert.fail(`${guided.model} not served`);
    assert.equal(cm.status, 'ready');
    assert.equal(jfdl.status, 'ready');
    assert.equal(cm.guided, false);
    assert.deepEqual(cm.guidance, { default: 1, min: 1, max: 1 });
    assert.equal(jfdl.guided, true);
    assert.equal(jfdl.null_class, 10);
    for (const m of [cm, jfdl]) {
      assert.equal(m.default_sampler, 'consistency');
      assert.deepEqual(m.schedules['1'], [80]);
      assert.deepEqual(m.schedules['2'], [80, 1.9128]);
      assert.deepEqual(m.image, { channels: 3, height: 32, width: 32 });
    }
  });

  test('the CM serves at guidance 1 and refuses any other guidance by field', async () => {
    const ok = await post({ model: plain.model, class: 3, seed: 7 });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().params.sampler, 'consistency');
    assert.deepEqual(ok.json().params.sigmas, [80, 1.9128]);
    const bad = await post({ model: plain.model, class: 3, seed: 7, guidance: 1.5 });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().field, 'guidance');
  });

  test('the JFDL graph is guided: w changes the image, w = 1 is the CM itself', async () => {
    const at = async (model: string, guidance: number) => {
      const res = await post({ model, class: 5, seed: 2024, guidance });
      assert.equal(res.statusCode, 200, res.body);
      return decodePlanar(Buffer.from(res.json().images[0].b64, 'base64'), 3);
    };
    const def = await post({ model: guided.model, class: 5, seed: 2024 });
    assert.equal(def.json().params.guidance, guided.guidance.default);
    const [w0, w1, w2, cm] = [await at(guided.model, 0), await at(guided.model, 1), await at(guided.model, 2), await at(plain.model, 1)];
    const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.ok(maxDiff(w1, cm) <= 1, 'the JFDL graph at w = 1 equals the CM');
    assert.ok(maxDiff(w0, w1) > 1, 'w = 0 (the learned null class) differs from w = 1');
    assert.ok(maxDiff(w2, w1) > 1, 'w = 2 differs from w = 1');
  });
});

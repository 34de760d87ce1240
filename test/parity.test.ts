/**
 * Parity with the Python reference (training/sampler.py) through test/golden/<model>.json:
 * the network (onnxruntime-node vs PyTorch export) to 1e-4, the TypeScript sampler's final D to
 * 1e-4 and its pixels to ±1, and the served PNG's pixels to ±1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { testConfig } from './test-config.js';
import { ManifestSchema, type Manifest } from '../src/models/manifest.js';
import { gaussianNoise } from '../src/sampler/philox.js';
import { sampleOne } from '../src/sampler/reference.js';
import { contractFeeds } from '../src/engine/session.js';
import { decodePlanar } from './helpers.js';

interface Golden {
  model: string;
  network: Array<{ graph: string; x: number[]; shape: number[]; sigma: number[]; class_labels: number[]; output: number[] }>;
  sampler: Array<{ model: string; class: number; guidance: number; steps: number; sigmas: number[]; sampler: 'ode' | 'consistency'; seed: number; index: number; noise0: number[]; denoised: number[]; pixels: number[] }>;
}

/** Where each golden file's model folder lives. */
function modelDirFor(name: string): string | null {
  for (const root of ['test/fixtures/models', 'test/fixtures/imported', 'models']) if (existsSync(join(root, name, 'model.json'))) return join(root, name);
  return null;
}

const goldens = existsSync('test/golden') ? readdirSync('test/golden').filter((f) => f.endsWith('.json')) : [];
if (!goldens.length) throw new Error('no golden vectors in test/golden (written by the Python export)');

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

for (const file of goldens) {
  const golden = JSON.parse(readFileSync(join('test/golden', file), 'utf8')) as Golden;
  const dir = modelDirFor(golden.model);
  describe(`parity: ${file}`, { skip: dir ? false : `model folder ${golden.model} not present` }, () => {
    let manifest: Manifest;
    const sessions = new Map<string, ort.InferenceSession>();
    let app: FastifyInstance;
    const session = async (graphFile: string) => {
      if (!sessions.has(graphFile)) sessions.set(graphFile, await ort.InferenceSession.create(join(dir!, graphFile), { intraOpNumThreads: 1 }));
      return sessions.get(graphFile)!;
    };
    const run = async (graphFile: string, x: Float32Array, shape: number[], sigma: ArrayLike<number>, labels: ArrayLike<number>) => {
      const s = await session(graphFile);
      const out = await s.run(contractFeeds(ort.Tensor, shape[0], [shape[1], shape[2], shape[3]], x, Float32Array.from(sigma), BigInt64Array.from(Array.from(labels, (v) => BigInt(v)))));
      return out[s.outputNames[0]].data as Float32Array;
    };
    before(async () => {
      manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(dir!, 'model.json'), 'utf8')));
      app = await buildApp(testConfig({ MODELS_DIR: join(dir!, '..'), INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu' }));
      await app.registry.loadAll();
    });
    after(async () => {
      await app.close();
      for (const s of sessions.values()) await s.release();
    });

    test('network outputs match to 1e-4', async () => {
      assert.ok(golden.network.length > 0);
      for (const v of golden.network) {
        const out = await run(v.graph, Float32Array.from(v.x), v.shape, v.sigma, v.class_labels);
        const d = maxAbs(out, v.output);
        assert.ok(d <= 1e-4, `${v.graph}: max abs ${d}`);
      }
    });

    test('sampler: noise, final D (1e-4) and pixels (±1) match the Python reference', async () => {
      assert.ok(golden.sampler.length > 0);
      const { channels: C, height: H, width: W } = manifest.image;
      const n = C * H * W;
      for (const v of golden.sampler) {
        const graph = manifest.graphs.find((g) => g.model === v.model) ?? assert.fail(`graph ${v.model} not in manifest`);
        const z = gaussianNoise(v.seed, v.index, 0, n);
        assert.ok(maxAbs(z.subarray(0, v.noise0.length), v.noise0) <= 1e-6, 'noise0');
        const r = await sampleOne(
          { sigmas: v.sigmas, sigmaMin: manifest.sigma.min, classIndex: v.class, nullClass: graph.null_class, guidance: v.guidance, sampler: v.sampler, clamp: manifest.clamp, seed: v.seed, index: v.index, size: n },
          (x, sigma, labels) => run(graph.file, x, [labels.length, C, H, W], labels.map(() => sigma), labels),
        );
        const dd = maxAbs(r.denoised, v.denoised);
        assert.ok(dd <= 1e-4, `${v.model} ${v.sampler} w=${v.guidance}: denoised max abs ${dd}`);
        assert.ok(maxAbs(r.pixels, v.pixels) <= 1, 'pixels');
      }
    });

    test('served PNG equals the reference image (max pixel difference ≤ 1)', async () => {
      const { channels: C } = manifest.image;
      for (const v of golden.sampler) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/generate',
          payload: { model: v.model, class: v.class, guidance: v.guidance, sigmas: v.sigmas, sampler: v.sampler, seed: v.seed, num_images: v.index + 1 },
        });
        assert.equal(res.statusCode, 200, res.body);
        const img = res.json().images[v.index];
        const px = await decodePlanar(Buffer.from(img.b64, 'base64'), C);
        const d = maxAbs(px, v.pixels);
        assert.ok(d <= 1, `${v.model}: served pixel diff ${d}`);
      }
    });
  });
}

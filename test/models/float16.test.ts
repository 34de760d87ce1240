/**
 * float16 weights (`--dtype float16`, training/onnx_float16.py): the fixture
 * test/fixtures/float16/tiny-openai-fp16 is tiny-openai's checkpoint imported with half-precision
 * weights. Against the float32 PyTorch golden vectors of tiny-openai's cm.onnx it stays within
 * FP16_TOLERANCE at every σ from 80 down to 0.002 (measured: 1.7e-3 at most, at σ = 80; outputs
 * span about ±1.7), the boundary condition f(x, σ_min, c) = x still holds exactly (the σ
 * arithmetic is float32), the file is half the size, and the service loads and serves it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildApp } from '../../src/app.js';
import { contractFeeds, sessionOptions } from '../../src/engine/session.js';
import { ManifestSchema } from '../../src/models/manifest.js';
import { testConfig } from '../test-config.js';

/** max abs difference of f(x, σ, c) from the float32 model, any σ: 1/255 of the [−1, 1] range would be 7.8e-3 */
const FP16_TOLERANCE = 5e-3;

const DIR = 'test/fixtures/float16/tiny-openai-fp16';
const FP32 = 'test/fixtures/imported/tiny-openai/cm.onnx';
const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')));
const golden = JSON.parse(readFileSync('test/golden/tiny-openai.json', 'utf8')) as {
  network: Array<{ graph: string; x: number[]; shape: number[]; sigma: number[]; class_labels: number[]; output: number[] }>;
};
const v = golden.network.find((n) => n.graph === 'cm.onnx') ?? assert.fail('no cm.onnx golden vectors');

async function run(path: string): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, sessionOptions('cpu', 1));
  const [B, C, H, W] = v.shape;
  const y = (await s.run(contractFeeds(ort.Tensor, B, [C, H, W], Float32Array.from(v.x), Float32Array.from(v.sigma), BigInt64Array.from(v.class_labels, (c) => BigInt(c)))))[s.outputNames[0]].data as Float32Array;
  await s.release();
  return y;
}

describe('float16 weights', () => {
  test('the manifest says float16 and the graph is half the float32 one', () => {
    assert.equal(manifest.graphs[0].weights_dtype, 'float16');
    assert.deepEqual(manifest.graphs[0].external_data, []);
    const ratio = statSync(join(DIR, 'cm.onnx')).size / statSync(FP32).size;
    assert.ok(ratio > 0.45 && ratio < 0.6, `size ratio ${ratio}`);
  });

  test(`f(x, σ, c) within ${FP16_TOLERANCE} of float32 at every σ from 80 to 0.002; exact at σ_min`, async (t) => {
    const half = await run(join(DIR, 'cm.onnx'));
    const full = await run(FP32);
    const per = v.shape[1] * v.shape[2] * v.shape[3];
    let worst = 0;
    let differs = 0;
    for (let r = 0; r < v.shape[0]; r++) {
      let d = 0;
      for (let k = r * per; k < (r + 1) * per; k++) {
        d = Math.max(d, Math.abs(half[k] - v.output[k]));
        differs = Math.max(differs, Math.abs(half[k] - full[k]));
      }
      t.diagnostic(`σ=${+v.sigma[r].toPrecision(6)}: max abs ${d.toExponential(2)} from float32`);
      assert.ok(d <= FP16_TOLERANCE, `σ=${v.sigma[r]}: ${d}`);
      if (Math.fround(v.sigma[r]) === Math.fround(manifest.sigma.min)) assert.equal(d, 0, 'f(x, σ_min, c) = x');
      worst = Math.max(worst, d);
    }
    t.diagnostic(`max abs difference float16 vs float32 over all σ: ${worst.toExponential(2)}`);
    assert.ok(differs > 1e-5, 'the float16 graph really computes with rounded weights');
  });

  test('the service loads and serves it', async () => {
    const app = await buildApp(testConfig({ MODELS_DIR: 'test/fixtures/float16', INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu' }));
    try {
      await app.registry.loadAll();
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'tiny-openai-fp16-cm', class: 3, seed: 9 } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().images.length, 1);
    } finally {
      await app.close();
    }
  });
});

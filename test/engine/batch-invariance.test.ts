/**
 * Batch invariance of the shipped graphs under the service's own session options: a row's output
 * must be bit-identical whether it runs alone or at any position of a batch of other rows, or
 * step-level batching would change a seed's pixels with the traffic around it. The exported
 * graphs are rewritten for this (training/batch_invariant.py); before that, Log(σ) came out one
 * ulp apart alone and in a batch for some σ, and a control image in the disconnect storm differed
 * from its undisturbed copy by one pixel level.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { contractFeeds, sessionOptions } from '../../src/engine/session.js';
import { rng } from '../../loadtest/common.js';

const ROWS = 48;
const BATCHES = [2, 3, 5, 8, 13, 16, 20, 31, 48];

for (const dir of ['models/digits16', 'models/fashion28', 'test/fixtures/models/tiny-rgb8', 'test/fixtures/imported/tiny-openai', 'test/fixtures/float16/tiny-openai-fp16', 'test/fixtures/external/tiny-rgb8-ext']) {
  const manifest = existsSync(join(dir, 'model.json')) ? JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) : null;
  describe(`batch invariance: ${dir}`, { skip: manifest ? false : 'model folder not present' }, () => {
    const { channels, height, width } = manifest.image;
    const per = channels * height * width;
    const classes = manifest.classes.length;
    for (const graph of manifest.graphs as Array<{ file: string; null_class: number | null }>) {
      for (const threads of [1, 2]) {
        test(`${graph.file}, ${threads} intra-op thread(s): each row alone = the same row anywhere in a batch`, async () => {
          const session = await ort.InferenceSession.create(join(dir, graph.file), sessionOptions('cpu', threads));
          const rand = rng(20261127 + threads);
          const x = Float32Array.from({ length: ROWS * per }, () => (rand() - 0.5) * 4);
          // σ log-uniform over the model's range, classes including the null class where there is one
          const sigma = Float32Array.from({ length: ROWS }, () => manifest.sigma.min * Math.pow(manifest.sigma.max / manifest.sigma.min, rand()));
          const labels = Array.from({ length: ROWS }, () => Math.floor(rand() * (classes + (graph.null_class === null ? 0 : 1))));
          const run = async (rows: number[]) => {
            const xb = new Float32Array(rows.length * per);
            rows.forEach((r, i) => xb.set(x.subarray(r * per, (r + 1) * per), i * per));
            const feeds = contractFeeds(ort.Tensor, rows.length, [channels, height, width], xb, Float32Array.from(rows, (r) => sigma[r]), BigInt64Array.from(rows, (r) => BigInt(labels[r])));
            const out = await session.run(feeds);
            return out[session.outputNames[0]].data as Float32Array;
          };
          const alone: Float32Array[] = [];
          for (let r = 0; r < ROWS; r++) alone.push(await run([r]));
          const differing: string[] = [];
          for (const b of BATCHES) {
            // b distinct rows in random order: each lands at a random position
            const order = Array.from({ length: ROWS }, (_, i) => i);
            for (let i = ROWS - 1; i > 0; i--) {
              const j = Math.floor(rand() * (i + 1));
              [order[i], order[j]] = [order[j], order[i]];
            }
            const rows = order.slice(0, b);
            const out = await run(rows);
            rows.forEach((r, pos) => {
              const got = out.subarray(pos * per, (pos + 1) * per);
              let n = 0;
              for (let k = 0; k < per; k++) if (got[k] !== alone[r][k]) n++;
              if (n) differing.push(`row ${r} (σ ${sigma[r]}) at ${pos} of ${b}: ${n} values`);
            });
          }
          await session.release();
          assert.deepEqual(differing, []);
        });
      }
    }
  });
}

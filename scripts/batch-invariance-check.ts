/**
 * Batch invariance of a model folder too large for the test suite (a full-size import): as
 * test/engine/batch-invariance.test.ts, with the service's session options at 1 and 2 intra-op
 * threads, but with few rows — each row alone, then in batches of 2, 3 and 4 at other positions —
 * since one row of a 296M-parameter network takes seconds. Exit status 1 when any value differs.
 *
 *   node --import tsx scripts/batch-invariance-check.ts DIR [ROWS]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { rng } from '../loadtest/common.js';
import { contractFeeds, sessionOptions } from '../src/engine/session.js';
import { ManifestSchema } from '../src/models/manifest.js';

const [dir, rowsArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node --import tsx scripts/batch-invariance-check.ts MODEL_DIR [ROWS]');
  process.exit(2);
}
const ROWS = Math.max(2, Number(rowsArg ?? 4));
const m = ManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')));
const chw: [number, number, number] = [m.image.channels, m.image.height, m.image.width];
const per = chw[0] * chw[1] * chw[2];
const batches = [[1, 0], [ROWS - 1, 2 % ROWS, 0], Array.from({ length: ROWS }, (_, i) => ROWS - 1 - i)];
let bad = 0;
for (const g of m.graphs) {
  for (const threads of [2, 1]) {
    const t0 = Date.now();
    const session = await ort.InferenceSession.create(join(dir, g.file), sessionOptions('cpu', threads));
    const rand = rng(7 + threads);
    const x = Float32Array.from({ length: ROWS * per }, () => (rand() - 0.5) * 4);
    const sigma = Float32Array.from({ length: ROWS }, () => m.sigma.min * Math.pow(m.sigma.max / m.sigma.min, rand()));
    const labels = Array.from({ length: ROWS }, () => Math.floor(rand() * (m.classes.length + (g.null_class === null ? 0 : 1))));
    const run = async (rows: number[]) => {
      const xb = new Float32Array(rows.length * per);
      rows.forEach((r, i) => xb.set(x.subarray(r * per, (r + 1) * per), i * per));
      const out = await session.run(contractFeeds(ort.Tensor, rows.length, chw, xb, Float32Array.from(rows, (r) => sigma[r]), BigInt64Array.from(rows, (r) => BigInt(labels[r]))));
      return out[session.outputNames[0]].data as Float32Array;
    };
    const alone: Float32Array[] = [];
    for (let r = 0; r < ROWS; r++) alone.push(await run([r]));
    const differing: string[] = [];
    for (const rows of batches) {
      const out = await run(rows);
      rows.forEach((r, pos) => {
        let n = 0;
        for (let k = 0; k < per; k++) if (out[pos * per + k] !== alone[r][k]) n++;
        if (n) differing.push(`row ${r} (σ ${sigma[r]}) at ${pos} of ${rows.length}: ${n} values`);
      });
    }
    bad += differing.length;
    console.log(`${g.file}, ${threads} thread(s): ${differing.length ? differing.join('; ') : `every row bit-identical alone and in batches of ${batches.map((b) => b.length).join(', ')} at other positions`} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    await session.release();
  }
}
process.exit(bad ? 1 : 0);

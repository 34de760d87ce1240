/**
 * ONNX-vs-PyTorch parity of any model folder, for folders too large to commit (a full-size
 * import): runs each network vector of FILE (`python3 -m training golden --model-dir DIR --out
 * FILE`) through onnxruntime-node with the service's session options and prints the max abs
 * difference per row. Exit status 1 when a row differs by more than 1e-4 (the parity test's bound).
 *
 *   node --import tsx scripts/parity-check.ts DIR FILE
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { contractFeeds, sessionOptions } from '../src/engine/session.js';

const [dir, file] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx scripts/parity-check.ts MODEL_DIR GOLDEN_FILE');
  process.exit(2);
}
const golden = JSON.parse(readFileSync(file, 'utf8')) as {
  network: Array<{ graph: string; x: number[]; shape: number[]; sigma: number[]; class_labels: number[]; output: number[] }>;
};
let worst = 0;
for (const v of golden.network) {
  const t0 = Date.now();
  const s = await ort.InferenceSession.create(join(dir, v.graph), sessionOptions('cpu', 1));
  const [B, C, H, W] = v.shape;
  const out = await s.run(contractFeeds(ort.Tensor, B, [C, H, W], Float32Array.from(v.x), Float32Array.from(v.sigma), BigInt64Array.from(v.class_labels, (c) => BigInt(c))));
  const y = out[s.outputNames[0]].data as Float32Array;
  const per = C * H * W;
  for (let r = 0; r < B; r++) {
    let d = 0;
    for (let k = r * per; k < (r + 1) * per; k++) d = Math.max(d, Math.abs(y[k] - v.output[k]));
    console.log(`${v.graph} σ=${+v.sigma[r].toPrecision(6)} class=${v.class_labels[r]}: max abs ${d.toExponential(2)}`);
    worst = Math.max(worst, d);
  }
  console.log(`${v.graph}: ${B} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s (session creation included)`);
  await s.release();
}
console.log(`max abs difference: ${worst.toExponential(2)}`);
process.exit(worst <= 1e-4 ? 0 : 1);

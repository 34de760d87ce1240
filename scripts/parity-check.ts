/**
 * ONNX-vs-PyTorch parity of any model folder, for folders too large to commit (a full-size
 * import): runs each network vector of FILE (`python3 -m training golden --model-dir DIR --out
 * FILE`) through onnxruntime-node with the service's session options and prints the max abs
 * difference per row. Exit status 1 when a row differs by more than 1e-4 (the parity test's bound).
 *
 *   node --import tsx scripts/parity-check.ts DIR FILE
 */
import { readFileSync } from 'node:fs';
import { goldenRowDiffs, type GoldenNetwork } from './golden-rows.js';

const [dir, file] = process.argv.slice(2);
if (!dir || !file) {
  console.error('usage: node --import tsx scripts/parity-check.ts MODEL_DIR GOLDEN_FILE');
  process.exit(2);
}
const golden = JSON.parse(readFileSync(file, 'utf8')) as { network: GoldenNetwork[] };
let worst = 0;
for (const v of golden.network) {
  const t0 = Date.now();
  for (const r of await goldenRowDiffs(dir, v)) {
    console.log(`${r.graph} σ=${+r.sigma.toPrecision(6)} class=${r.classLabel}: max abs ${r.maxAbs.toExponential(2)}`);
    worst = Math.max(worst, r.maxAbs);
  }
  console.log(`${v.graph}: ${v.shape[0]} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s (session creation included)`);
}
console.log(`max abs difference: ${worst.toExponential(2)}`);
process.exit(worst <= 1e-4 ? 0 : 1);

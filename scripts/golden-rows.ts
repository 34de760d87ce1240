/**
 * A golden file's network vectors run through onnxruntime-node with the service's session
 * options, compared row by row with the PyTorch outputs they hold. Shared by the parity check of
 * big folders (scripts/parity-check.ts) and the imported-model test.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { contractFeeds, sessionOptions } from '../src/engine/session.js';

/** One network vector of a golden file (training/golden.py). */
export interface GoldenNetwork {
  graph: string;
  x: number[];
  shape: number[];
  sigma: number[];
  class_labels: number[];
  output: number[];
}

export interface RowDiff {
  graph: string;
  sigma: number;
  classLabel: number;
  /** max abs difference of the row's output from PyTorch's */
  maxAbs: number;
}

/** Runs `v` on a one-thread CPU session of `dir/v.graph`; the max abs difference per row. */
export async function goldenRowDiffs(dir: string, v: GoldenNetwork): Promise<RowDiff[]> {
  const s = await ort.InferenceSession.create(join(dir, v.graph), sessionOptions('cpu', 1));
  try {
    const [B, C, H, W] = v.shape;
    const out = await s.run(contractFeeds(ort.Tensor, B, [C, H, W], Float32Array.from(v.x), Float32Array.from(v.sigma), BigInt64Array.from(v.class_labels, (c) => BigInt(c))));
    const y = out[s.outputNames[0]].data as Float32Array;
    const per = C * H * W;
    const rows: RowDiff[] = [];
    for (let r = 0; r < B; r++) {
      let d = 0;
      for (let k = r * per; k < (r + 1) * per; k++) d = Math.max(d, Math.abs(y[k] - v.output[k]));
      rows.push({ graph: v.graph, sigma: v.sigma[r], classLabel: v.class_labels[r], maxAbs: d });
    }
    return rows;
  } finally {
    await s.release();
  }
}

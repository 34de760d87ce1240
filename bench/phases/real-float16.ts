/**
 * Real-size benchmark, float16 against float32: the same network imported with `--dtype float16`
 * (half-precision weights, computed in float32; training/onnx_float16.py). Parity: f(x, σ, c) of
 * both graphs on the same rows, σ log-spaced from σ_max down to σ_min, x = σ·z with the
 * service's Philox noise — max abs difference per σ. Speed: raw onnxruntime rows/s in the same
 * layout and batch sizes as float32.
 */
import * as ort from 'onnxruntime-node';
import { contractFeeds, sessionOptions } from '../../src/engine/session.js';
import { gaussianNoise } from '../../src/sampler/philox.js';
import { layoutName, rawRows, type RawLayout, type RawRows } from '../raw.js';
import type { RealModel } from '../real-model.js';

export interface Float16Parity {
  sigmas: number[];
  /** max abs difference of f(x, σ, c) per row (per σ) */
  maxAbs: number[];
  /** largest |f| of the float32 graph per row, for scale */
  maxOut: number[];
  worst: number;
}

export function parityInputs(model: RealModel, rows: number): { sigma: Float32Array; x: Float32Array; labels: BigInt64Array } {
  const { min, max } = model.m.manifest.sigma;
  const [C, H, W] = model.raw.chw;
  const n = C * H * W;
  const sigma = Float32Array.from({ length: rows }, (_, i) => max * (min / max) ** (i / Math.max(rows - 1, 1)));
  const x = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) x.set(gaussianNoise(2026, r, 0, n).map((v) => v * sigma[r]), r * n);
  const labels = BigInt64Array.from({ length: rows }, (_, r) => BigInt((r * 7919) % model.m.manifest.classes.length));
  return { sigma, x, labels };
}

async function outputs(path: string, model: RealModel, threads: number, inp: ReturnType<typeof parityInputs>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, sessionOptions('cpu', threads));
  try {
    const out = await s.run(contractFeeds(ort.Tensor, inp.sigma.length, model.raw.chw, inp.x, inp.sigma, inp.labels));
    return out[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

export async function float16Parity(fp32: RealModel, fp16: RealModel, rows: number, threads: number, log: (l: string) => void): Promise<Float16Parity> {
  const inp = parityInputs(fp32, rows);
  const a = await outputs(fp32.raw.graphPath, fp32, threads, inp);
  const b = await outputs(fp16.raw.graphPath, fp16, threads, inp);
  const n = a.length / rows;
  const maxAbs: number[] = [];
  const maxOut: number[] = [];
  for (let r = 0; r < rows; r++) {
    let d = 0;
    let m = 0;
    for (let k = r * n; k < (r + 1) * n; k++) {
      d = Math.max(d, Math.abs(a[k] - b[k]));
      m = Math.max(m, Math.abs(a[k]));
    }
    maxAbs.push(d);
    maxOut.push(m);
  }
  const sigmas = [...inp.sigma];
  log(`  float16 vs float32, max abs difference of f(x, σ, c): ${sigmas.map((s, r) => `σ ${+s.toPrecision(4)}: ${maxAbs[r].toExponential(2)}`).join(', ')}`);
  return { sigmas, maxAbs, maxOut, worst: Math.max(...maxAbs) };
}

export async function float16Speed(fp16: RealModel, layout: RawLayout, batches: number[], calls: number, log: (l: string) => void): Promise<RawRows & { layout: RawLayout }> {
  const r = await rawRows(fp16.raw, layout, batches, calls, fp16.m.manifest.sigma.max);
  log(`  raw onnxruntime, float16 weights, ${layoutName(layout)}: ${batches.map((b) => `batch ${b} ${r.rowsPerS[String(b)].toFixed(3)} rows/s`).join(', ')}`);
  return { ...r, layout };
}

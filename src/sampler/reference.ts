/**
 * The whole sampler for one image with a synchronous denoiser — the ~20-line mirror of the
 * algorithm (docs/model-contract.md §Sampler). The service itself interleaves the same pieces
 * across many lanes (src/scheduler/); this version exists for tests and as executable spec.
 */
import { gaussianNoise } from './philox.js';
import { combineGuidance, consistencyStep, initialLatent, odeStep, quantise, type SamplerKind } from './step.js';

export interface ReferenceParams {
  sigmas: readonly number[];
  sigmaMin: number;
  classIndex: number;
  nullClass: number | null;
  guidance: number;
  sampler: SamplerKind;
  clamp: boolean;
  seed: number;
  index: number;
  size: number;
}

/** `f(x, σ, c)` for a batch of rows sharing σ: x is [rows·size], returns [rows·size]. */
export type Denoiser = (x: Float32Array, sigma: number, labels: number[]) => Float32Array | Promise<Float32Array>;

export async function sampleOne(p: ReferenceParams, f: Denoiser): Promise<{ denoised: Float32Array; pixels: Uint8Array }> {
  const n = p.size;
  const guided = p.guidance !== 1;
  if (guided && p.nullClass === null) throw new Error('guidance needs a null class');
  const x = initialLatent(gaussianNoise(p.seed, p.index, 0, n), p.sigmas[0]);
  const d = new Float32Array(n);
  for (let i = 0; i < p.sigmas.length; i++) {
    const rows = guided ? 2 : 1;
    const inp = new Float32Array(rows * n);
    inp.set(x, 0);
    if (guided) inp.set(x, n);
    const out = await f(inp, p.sigmas[i], guided ? [p.classIndex, p.nullClass as number] : [p.classIndex]);
    combineGuidance(out.subarray(0, n), guided ? out.subarray(n, 2 * n) : null, p.guidance, p.clamp, d);
    if (i < p.sigmas.length - 1) {
      if (p.sampler === 'ode') odeStep(x, d, p.sigmas[i], p.sigmas[i + 1]);
      else consistencyStep(x, d, gaussianNoise(p.seed, p.index, i + 1, n), p.sigmas[i + 1], p.sigmaMin);
    }
  }
  return { denoised: d, pixels: quantise(d) };
}

/**
 * The whole sampler for one image with a synchronous denoiser — the executable specification of
 * docs/model-contract.md §Sampler, in a plain loop. The per-step arithmetic is ./lane.ts, the
 * same function the service's scheduler calls between network calls; only the batching differs.
 */
import { laneScratch, startLane, stepLane, type LaneSpec } from './lane.js';

export interface ReferenceParams extends LaneSpec {
  classIndex: number;
  nullClass: number | null;
  /** C·H·W */
  size: number;
}

/** `f(x, σ, c)` for a batch of rows sharing σ: x is [rows·size], returns [rows·size]. */
export type Denoiser = (x: Float32Array, sigma: number, labels: number[]) => Float32Array | Promise<Float32Array>;

export async function sampleOne(p: ReferenceParams, f: Denoiser): Promise<{ denoised: Float32Array; pixels: Uint8Array }> {
  const n = p.size;
  const guided = p.guidance !== 1;
  if (guided && p.nullClass === null) throw new Error('guidance needs a null class');
  const x = startLane(p, n);
  const scratch = laneScratch(n);
  const pixels = new Uint8Array(n);
  const rows = guided ? 2 : 1;
  const inp = new Float32Array(rows * n);
  for (let i = 0; i < p.sigmas.length; i++) {
    inp.set(x, 0);
    if (guided) inp.set(x, n);
    const out = await f(inp, p.sigmas[i], guided ? [p.classIndex, p.nullClass as number] : [p.classIndex]);
    stepLane(p, i, x, out.subarray(0, n), guided ? out.subarray(n, 2 * n) : null, pixels, scratch);
  }
  return { denoised: scratch.d, pixels };
}

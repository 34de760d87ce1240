/**
 * Per-lane sampler arithmetic of docs/model-contract.md §Sampler (normative), split into the
 * pieces the step-level scheduler needs between two network calls:
 *
 *   x ← σ_0·z_0
 *   each step i:  D ← [D_u + w·(D_c − D_u)] (or D_c when w = 1);  clamp to [−1, 1]
 *                 ode:          x ← D + σ_{i+1}·(x − D)/σ_i     (the implied VE noise, JFDL's view)
 *                 consistency:  x ← D + sqrt(σ_{i+1}² − σ_min²)·z_{i+1}
 *   pixel ← clamp(floor((D + 1)·127.5 + 0.5), 0, 255)
 *
 * Tensors are float32; each element is combined in float64 and stored back as float32, as the
 * contract says, so the Python reference gives the same bits up to libm differences.
 */
import type { SamplerName } from '../enums.js';

export type SamplerKind = SamplerName;

/** x ← σ_0·z_0 (in place on `z`, which becomes x). */
export function initialLatent(z: Float32Array, sigma0: number): Float32Array {
  for (let k = 0; k < z.length; k++) z[k] = sigma0 * z[k];
  return z;
}

/**
 * D ← D_u + w·(D_c − D_u) when `dU` is given (guided lane), else D ← D_c; then clamp to
 * [−1, 1] when `clamp`. Writes into `out`, which may alias `dC`.
 */
export function combineGuidance(
  dC: Float32Array,
  dU: Float32Array | null,
  w: number,
  clamp: boolean,
  out: Float32Array,
): Float32Array {
  const n = out.length;
  for (let k = 0; k < n; k++) {
    let d = dU ? dU[k] + w * (dC[k] - dU[k]) : dC[k];
    if (clamp) d = d < -1 ? -1 : d > 1 ? 1 : d;
    out[k] = d;
  }
  return out;
}

/**
 * ODE update x ← D + σ_next·ε̂ with the implied VE noise ε̂ = (x − D)/σ_cur (JFDL's view of a CM as
 * an ODE solver), in place on x. Evaluated in this order, like training/sampler.py, so the float64
 * roundings agree too.
 */
export function odeStep(x: Float32Array, d: Float32Array, sigmaCur: number, sigmaNext: number): Float32Array {
  const n = x.length;
  for (let k = 0; k < n; k++) x[k] = d[k] + sigmaNext * ((x[k] - d[k]) / sigmaCur);
  return x;
}

/** Consistency (multistep CM) update x ← D + sqrt(σ_next² − σ_min²)·z, in place on x. */
export function consistencyStep(
  x: Float32Array,
  d: Float32Array,
  z: Float32Array,
  sigmaNext: number,
  sigmaMin: number,
): Float32Array {
  const s = Math.sqrt(Math.max(0, sigmaNext * sigmaNext - sigmaMin * sigmaMin));
  const n = x.length;
  for (let k = 0; k < n; k++) x[k] = d[k] + s * z[k];
  return x;
}

/** Pixel quantisation: v = (D + 1)·127.5 in float64, floor(v + 0.5), clamped to 0…255; C-order kept. */
export function quantise(d: Float32Array, out: Uint8Array = new Uint8Array(d.length)): Uint8Array {
  for (let k = 0; k < d.length; k++) {
    const v = Math.floor((d[k] + 1) * 127.5 + 0.5);
    out[k] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/**
 * One lane (one image) of the guided sampler, step by step — the single implementation of the
 * per-image arithmetic of docs/model-contract.md §Sampler. The service's scheduler calls
 * `stepLane` between two network calls of a lane (src/scheduler/), and the executable
 * specification (./reference.ts) calls the same two functions in a plain loop, so the served
 * path and the reference cannot drift apart.
 *
 *   x ← σ_0·z_0                                            (startLane)
 *   each step i:  D ← [D_u + w·(D_c − D_u)] or D_c;  clamp  (stepLane)
 *                 i < n−1:  ode          x ← D + σ_{i+1}·(x − D)/σ_i
 *                           consistency  x ← D + sqrt(σ_{i+1}² − σ_min²)·z_{i+1}
 *                 i = n−1:  pixels ← quantise(D)
 */
import { gaussianNoise } from './philox.js';
import { combineGuidance, consistencyStep, initialLatent, odeStep, quantise, type SamplerKind } from './step.js';

/** What a lane's arithmetic needs of its request. */
export interface LaneSpec {
  /** descending σ schedule, one entry per step */
  readonly sigmas: readonly number[];
  readonly sigmaMin: number;
  readonly guidance: number;
  readonly sampler: SamplerKind;
  readonly clamp: boolean;
  /** Philox key of the image: (seed, index) */
  readonly seed: number;
  readonly index: number;
}

/** x ← σ_0·z_0, z_0 from Philox keyed by (seed, index), counter 0. `n` = C·H·W. */
export function startLane(spec: LaneSpec, n: number): Float32Array {
  return initialLatent(gaussianNoise(spec.seed, spec.index, 0, n), spec.sigmas[0]);
}

/** Scratch space of one caller, reused across lanes and steps (no allocation per step). */
export interface LaneScratch {
  /** D of the step */
  d: Float32Array;
  /** fresh noise z_{i+1} of the consistency sampler */
  noise: Float32Array;
}

export function laneScratch(n: number): LaneScratch {
  return { d: new Float32Array(n), noise: new Float32Array(n) };
}

/**
 * Step `step` of a lane, given the network's outputs for it: `dC` = f(x, σ_step, c) and, for a
 * guided lane (w ≠ 1), `dU` = f(x, σ_step, ∅). Updates `x` in place for the next step, or — on
 * the last step — writes the quantised image into `pixels`. Returns true when the lane is done.
 * D is left in `scratch.d` (the reference sampler returns it; the service does not need it).
 */
export function stepLane(
  spec: LaneSpec,
  step: number,
  x: Float32Array,
  dC: Float32Array,
  dU: Float32Array | null,
  pixels: Uint8Array,
  scratch: LaneScratch,
): boolean {
  const d = combineGuidance(dC, dU, spec.guidance, spec.clamp, scratch.d);
  const last = step === spec.sigmas.length - 1;
  if (last) {
    quantise(d, pixels);
    return true;
  }
  const sCur = spec.sigmas[step];
  const sNext = spec.sigmas[step + 1];
  if (spec.sampler === 'ode') odeStep(x, d, sCur, sNext);
  // consistency: fresh noise z_{i+1}, Philox counter j = i + 1
  else consistencyStep(x, d, gaussianNoise(spec.seed, spec.index, step + 1, x.length, scratch.noise), sNext, spec.sigmaMin);
  return false;
}

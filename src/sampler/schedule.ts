/**
 * σ schedules (docs/model-contract.md "model.json"): the manifest's default list for a step count,
 * the Karras et al. (2022, EDM eq. 5) schedule with ρ = 7 for step counts without one, or an
 * explicit request list that must be strictly descending inside [σ_min, σ_max].
 */

export interface SigmaRange {
  min: number;
  max: number;
}

/** Karras schedule σ_i = (σ_max^(1/ρ) + i/(n−1)·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ, i = 0 … n−1 (n = 1 → [σ_max]). */
export function karrasSchedule(steps: number, sigma: SigmaRange, rho = 7): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError('steps must be a positive integer');
  if (steps === 1) return [sigma.max];
  const a = sigma.max ** (1 / rho);
  const b = sigma.min ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push((a + (i / (steps - 1)) * (b - a)) ** rho);
  return out;
}

/** Default schedule for `steps`: the manifest's entry if it has one, else Karras. */
export function defaultSchedule(
  steps: number,
  schedules: Readonly<Record<string, readonly number[]>>,
  sigma: SigmaRange,
): number[] {
  const listed = schedules[String(steps)];
  return listed ? [...listed] : karrasSchedule(steps, sigma);
}

/**
 * Why an explicit σ list is unusable, as a sentence about `sigmas` (the request field), or null
 * when it is fine: non-empty, at most maxSteps long, finite, strictly descending, each value
 * inside [σ_min, σ_max].
 */
export function sigmasProblem(sigmas: readonly number[], sigma: SigmaRange, maxSteps: number): string | null {
  if (sigmas.length === 0) return 'sigmas must contain at least one value';
  if (sigmas.length > maxSteps) return `sigmas may contain at most ${maxSteps} values (the model's max_steps)`;
  for (let i = 0; i < sigmas.length; i++) {
    const s = sigmas[i];
    if (!Number.isFinite(s)) return `sigmas[${i}] is not a finite number`;
    if (s < sigma.min || s > sigma.max) return `sigmas[${i}] = ${s} is outside [${sigma.min}, ${sigma.max}]`;
    if (i > 0 && !(s < sigmas[i - 1])) return `sigmas must be strictly descending (sigmas[${i}] = ${s} >= sigmas[${i - 1}])`;
  }
  return null;
}

/**
 * A model's request deadline, queue limit and largest request, from what its warm-up measured
 * (src/models/warmup.ts) — so a 296M-parameter network that takes seconds per row gets limits
 * that fit it, and a 16×16 network the service's usual ones. Pure; an explicit
 * REQUEST_DEADLINE_MS / QUEUE_LIMIT overrides the derived value for every model.
 *
 * - deadline: at least BASE_DEADLINE_MS, and room for a lone request of the model's default
 *   size to run DEADLINE_ROOM times over (a request may wait behind a few others);
 * - queue limit: the images the model can finish within that deadline at its measured best
 *   throughput (more would be admitted only to time out), at most BASE_QUEUE_LIMIT;
 * - largest request: MAX_IMAGES, but never more than the queue can hold, so every request the
 *   model accepts can be admitted.
 */

export const BASE_DEADLINE_MS = 30_000;
export const BASE_QUEUE_LIMIT = 1024;
export const DEADLINE_ROOM = 4;

export interface ModelCost {
  /** wall time of a 1-row call (ms) */
  msPerRow: number;
  /** best measured rows per second (all workers) */
  rowsPerS: number;
}

export interface LimitInputs {
  cost: ModelCost;
  /** network rows of one image at the model's defaults (steps × 2 for a guided graph) */
  rowsPerImage: number;
  maxImages: number;
  /** explicit configuration, overriding the derived values */
  deadlineMs?: number;
  queueLimit?: number;
}

export interface ModelLimits {
  deadlineMs: number;
  queueLimit: number;
  maxImages: number;
}

export function modelLimits(i: LimitInputs): ModelLimits {
  const ms = Number.isFinite(i.cost.msPerRow) && i.cost.msPerRow > 0 ? i.cost.msPerRow : 0;
  const rate = Number.isFinite(i.cost.rowsPerS) && i.cost.rowsPerS > 0 ? i.cost.rowsPerS : 0;
  const lone = i.rowsPerImage * ms;
  const deadlineMs = i.deadlineMs ?? Math.max(BASE_DEADLINE_MS, Math.ceil(DEADLINE_ROOM * lone));
  const fits = rate > 0 ? Math.floor(((deadlineMs / 1000) * rate) / i.rowsPerImage) : BASE_QUEUE_LIMIT;
  const queueLimit = i.queueLimit ?? Math.max(1, Math.min(BASE_QUEUE_LIMIT, fits));
  return { deadlineMs, queueLimit, maxImages: Math.max(1, Math.min(i.maxImages, queueLimit)) };
}

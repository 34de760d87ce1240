/**
 * (i) Raw onnxruntime throughput by batch size in both layouts; the best point is "the raw limit".
 * One 1.5 s point per size is noisy on a shared VM (neighbouring sizes swap places from run to
 * run), so the best few points are kept as candidates: the saturation phase measures raw at each
 * of them beside the service in every round and compares with the fastest (phases/saturation.ts).
 */
import { layoutName, pointName, rawThroughput, type RawLayout } from '../raw.js';
import type { Workload } from '../workload.js';

export const RAW_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128];

export interface RawSweep {
  service: Record<string, number>;
  alt: Record<string, number>;
  /** the best RAW_CANDIDATES points of either layout, best first: [0] is the sweep's raw limit */
  candidates: RawPoint[];
}

export interface RawPoint {
  layout: RawLayout;
  batch: number;
  imagesPerS: number;
}

/** Sweep points re-measured in every saturation round as candidates for the raw limit. */
export const RAW_CANDIDATES = 3;

export async function rawSweep(w: Workload, log: (line: string) => void): Promise<RawSweep> {
  console.log(`(i) raw onnxruntime, batch sizes ${RAW_BATCHES.join(', ')} (images per call of each session); ${layoutName(w.serviceLayout)}, then ${layoutName(w.altLayout)}`);
  const service = await rawThroughput(w.raw, w.serviceLayout, RAW_BATCHES, 1.5, log);
  const alt = await rawThroughput(w.raw, w.altLayout, RAW_BATCHES, 1.5, log);
  const points = (layout: RawLayout, r: Record<string, number>): RawPoint[] => Object.entries(r).map(([b, v]) => ({ layout, batch: Number(b), imagesPerS: v }));
  const candidates = [...points(w.serviceLayout, service), ...points(w.altLayout, alt)].sort((a, b) => b.imagesPerS - a.imagesPerS).slice(0, RAW_CANDIDATES);
  console.log(`  raw limit: ${candidates[0].imagesPerS.toFixed(1)} images/s (${pointName(candidates[0].layout, candidates[0].batch)}); candidates re-measured beside the service: ${candidates.map((c) => pointName(c.layout, c.batch)).join('; ')}`);
  return { service, alt, candidates };
}

/** (i) Raw onnxruntime throughput by batch size in both layouts; the best point is "the raw limit". */
import { layoutName, rawThroughput, type RawLayout } from '../raw.js';
import type { Workload } from '../workload.js';

export const RAW_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128];

export interface RawSweep {
  service: Record<string, number>;
  alt: Record<string, number>;
  /** the best point of either layout */
  best: { layout: RawLayout; batch: number; imagesPerS: number };
}

const argmax = (r: Record<string, number>) => Number(Object.entries(r).sort((a, b) => b[1] - a[1])[0][0]);

export async function rawSweep(w: Workload, log: (line: string) => void): Promise<RawSweep> {
  console.log(`(i) raw onnxruntime, batch sizes ${RAW_BATCHES.join(', ')} (images per call of each session); ${layoutName(w.serviceLayout)}, then ${layoutName(w.altLayout)}`);
  const service = await rawThroughput(w.raw, w.serviceLayout, RAW_BATCHES, 1.5, log);
  const alt = await rawThroughput(w.raw, w.altLayout, RAW_BATCHES, 1.5, log);
  const [bs, ba] = [argmax(service), argmax(alt)];
  const best = service[bs] >= alt[ba] ? { layout: w.serviceLayout, batch: bs, imagesPerS: service[bs] } : { layout: w.altLayout, batch: ba, imagesPerS: alt[ba] };
  console.log(`  raw limit: ${best.imagesPerS.toFixed(1)} images/s (${layoutName(best.layout)}, batch ${best.batch})`);
  return { service, alt, best };
}

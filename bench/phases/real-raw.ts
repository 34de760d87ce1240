/**
 * Real-size benchmark, raw onnxruntime: rows/s of single calls at each batch size, with the
 * service's session options and nothing else, in both CPU layouts — one single-threaded session
 * per core side by side (rows/s summed), and one session over all cores — and with the CUDA
 * provider when a CUDA GPU and onnxruntime's CUDA provider are there.
 */
import { existsSync } from 'node:fs';
import { layoutName, rawRows, type RawLayout, type RawRows } from '../raw.js';
import type { RealModel } from '../real-model.js';

export interface RawLayoutRows extends RawRows {
  layout: RawLayout;
  name: string;
}

export async function rawPhase(model: RealModel, layouts: RawLayout[], batches: number[], calls: number, log: (l: string) => void): Promise<RawLayoutRows[]> {
  const out: RawLayoutRows[] = [];
  for (const layout of layouts) {
    const r = await rawRows(model.raw, layout, batches, calls, model.m.manifest.sigma.max);
    out.push({ ...r, layout, name: layoutName(layout) });
    log(`  raw onnxruntime, ${layoutName(layout)}: ${batches.map((b) => `batch ${b} ${r.rowsPerS[String(b)].toFixed(3)} rows/s`).join(', ')} (session creation ${r.loadMs.map((m) => (m / 1000).toFixed(1)).join(' / ')} s)`);
  }
  return out;
}

/** Why there is no CUDA figure, or null when one can be tried (a GPU device node and the provider library are present). */
export function cudaUnavailable(): string | null {
  if (!existsSync('/dev/nvidia0') && !existsSync('/dev/nvidiactl')) return 'no CUDA GPU on this machine (no /dev/nvidia*)';
  return null;
}

/** Raw rows/s with the CUDA provider (one session), or why not. */
export async function cudaPhase(model: RealModel, batches: number[], calls: number, log: (l: string) => void): Promise<{ rows?: RawRows; why?: string }> {
  const why = cudaUnavailable();
  if (why) {
    log(`  CUDA: not measured — ${why}`);
    return { why };
  }
  try {
    const rows = await rawRows(model.raw, { sessions: 1, threads: 1 }, batches, calls, model.m.manifest.sigma.max, 'cuda');
    log(`  raw onnxruntime, CUDA: ${batches.map((b) => `batch ${b} ${rows.rowsPerS[String(b)].toFixed(2)} rows/s`).join(', ')}`);
    return { rows };
  } catch (e) {
    const msg = `the CUDA provider did not load the graph (${(e as Error).message.split('\n')[0].slice(0, 200)})`;
    log(`  CUDA: not measured — ${msg}`);
    return { why: msg };
  }
}

/**
 * (ii) One client: the service's end-to-end p50 for one guided 2-step image (HTTP, scheduler,
 * sampler, PNG) against raw onnxruntime doing the same network evaluations one image at a time,
 * in each way a lone image can run — one call of both rows per step on one session (1 or all
 * cores), or its class row and null-class row side by side on two single-threaded sessions — the
 * best of which is the baseline. Measured in alternating rounds, so a drift of the machine's
 * speed hits both sides alike.
 */
import { startServer } from '../../loadtest/common.js';
import { drive } from '../drive.js';
import { layoutName, rawLatency, type RawLayout } from '../raw.js';
import type { Workload } from '../workload.js';

export interface LatencyRound {
  serviceP50: number;
  serviceImages: number;
  /** raw p50 per layout name */
  raw: Record<string, number>;
  rawBest: number;
  rawBestLayout: string;
  ratio: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function latencyPhase(w: Workload, port: number, rounds: number, seconds: number, env: Record<string, string>): Promise<{ rounds: LatencyRound[]; ratio: number }> {
  const layouts: Array<{ name: string; layout: RawLayout }> = [
    { name: '1 session × 1 thread, one call per step', layout: { sessions: 1, threads: 1 } },
    ...(w.cores > 1 ? [{ name: `1 session × ${w.cores} threads, one call per step`, layout: { sessions: 1, threads: w.cores } }] : []),
    ...(w.raw.rowsPerStep === 2 && w.cores > 1 ? [{ name: '2 sessions × 1 thread, rows side by side', layout: { sessions: 2, threads: 1 } }] : []),
  ];
  console.log(`(ii) one client: the service (${layoutName(w.serviceLayout)}) vs raw onnxruntime one image at a time (${layouts.map((l) => l.name).join('; ')}), ${rounds} rounds of ${seconds} s`);
  const out: LatencyRound[] = [];
  const s = await startServer(w.m, port, env);
  try {
    await drive(s, w.m.graph.model, 1, 2, w.body, 'image/png', 1);
    for (let k = 0; k < rounds; k++) {
      const d = await drive(s, w.m.graph.model, 1, seconds, w.body, 'image/png', 0.5);
      const raw: Record<string, number> = {};
      const images = Math.max(100, Math.min(2000, Math.round(d.lat.length)));
      for (const l of layouts) {
        const lat = await rawLatency(w.raw, l.layout, images);
        raw[l.name] = lat[Math.floor((lat.length - 1) / 2)];
      }
      const [rawBestLayout, rawBest] = Object.entries(raw).sort((a, b) => a[1] - b[1])[0];
      out.push({ serviceP50: d.p50, serviceImages: d.lat.length, raw, rawBest, rawBestLayout, ratio: d.p50 / rawBest });
      process.stderr.write(`  round ${k + 1}: service p50 ${d.p50.toFixed(2)} ms (${d.lat.length} images); raw ${Object.entries(raw).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ')} ms → ${(d.p50 / rawBest).toFixed(3)}\n`);
    }
  } finally {
    await s.stop();
  }
  return { rounds: out, ratio: median(out.map((r) => r.ratio)) };
}

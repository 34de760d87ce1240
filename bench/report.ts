/** The benchmark report: markdown tables of every phase, the goals, and the repeatability table over runs. */
import { layoutName, pointName } from './raw.js';
import type { LatencyRound } from './phases/latency.js';
import { RAW_BATCHES, type RawSweep } from './phases/raw-sweep.js';
import type { Saturation } from './phases/saturation.js';
import { SWEEP_CLIENTS, type Sweeps } from './phases/batching.js';
import { torchBest, type TorchResult } from './phases/torch.js';
import type { Workload } from './workload.js';

export const fmt = (x: number | undefined, d = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '–');
const mark = (ok: boolean) => (ok ? 'yes' : 'NO');

/** One run's headline figures, as kept in loadtest/results/bench-history.jsonl. */
export interface Headline {
  date: string;
  model: string;
  latency_ratio: number;
  service_p50_ms: number;
  raw_best_p50_ms: number;
  saturation_ratio_same_batch: number;
  saturation_ratio_best: number;
  service_images_per_s: number;
  raw_limit_images_per_s: number;
  healthz_p99_ms: number;
  step_p99_64_ms: number;
}

export interface ReportInput {
  w: Workload;
  sweep: RawSweep;
  latency: { rounds: LatencyRound[]; ratio: number };
  sat: Saturation;
  torch: { result: TorchResult | null; why?: string };
  sweeps: Sweeps;
  history: Headline[];
  /** step-level p99 at 64 clients of the previous run (before this change), if known */
  previousStepP99?: number;
}

export function report(r: ReportInput): string {
  const { w, sweep, latency, sat, torch, sweeps } = r;
  const t = torch.result;
  const tb = torchBest(t);
  const torchRow = (b: number) => t?.images_per_s_by_batch[String(b)];
  const st = sweeps.step.at(-1)!;
  const rq = sweeps.request.at(-1)!;
  const rawNames = Object.keys(latency.rounds[0]?.raw ?? {});
  const lines = [
    '',
    `Throughput (images/s; guided ${w.sigmas.length}-step ${w.m.graph.model} images, ${w.cores} cores):`,
    '',
    '| batch (images) | ' + RAW_BATCHES.join(' | ') + ' |',
    '| --- | ' + RAW_BATCHES.map(() => '---:').join(' | ') + ' |',
    `| raw onnxruntime, ${layoutName(w.serviceLayout)} (service) | ` + RAW_BATCHES.map((b) => fmt(sweep.service[String(b)])).join(' | ') + ' |',
    `| raw onnxruntime, ${layoutName(w.altLayout)} | ` + RAW_BATCHES.map((b) => fmt(sweep.alt[String(b)])).join(' | ') + ' |',
    `| PyTorch reference, 1 process × ${t?.threads ?? w.cores} threads | ` + RAW_BATCHES.map((b) => (torchRow(b) !== undefined ? fmt(torchRow(b)) : '')).join(' | ') + ' |',
    ...(t?.per_core_processes
      ? [`| PyTorch reference, ${t.per_core_processes.processes} processes × 1 thread | ` + RAW_BATCHES.map((b) => fmt(t.per_core_processes!.images_per_s_by_batch[String(b)]).replace('–', '')).join(' | ') + ' |']
      : []),
    '',
    'One client, side by side (p50 ms per image; raw onnxruntime runs the same network calls one image at a time):',
    '',
    `| round | service p50 | ${rawNames.map((n) => `raw: ${n}`).join(' | ')} | service ÷ best raw |`,
    `| ---: | ---: | ${rawNames.map(() => '---:').join(' | ')} | ---: |`,
    ...latency.rounds.map((x, i) => `| ${i + 1} | ${fmt(x.serviceP50, 2)} | ${rawNames.map((n) => fmt(x.raw[n], 2)).join(' | ')} | ${fmt(x.ratio, 3)} |`),
    '',
    `Saturation, side by side (${sat.rounds.length} rounds: the service with ${sat.clients} clients, then raw onnxruntime at the batch the service ran, ${layoutName(w.serviceLayout)}, and at the raw limit: the fastest of that batch and the sweep's best points, ${sweep.candidates.map((c) => pointName(c.layout, c.batch)).join('; ')}, re-measured in the round):`,
    '',
    '| round | service images/s | rows per call | raw at that batch | ÷ | raw limit | ÷ |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...sat.rounds.map((x, i) => `| ${i + 1} | ${fmt(x.service)} | ${fmt(x.rowsPerCall)} | ${fmt(x.rawSameBatch)} (batch ${x.batch}) | ${fmt(x.ratioSameBatch, 3)} | ${fmt(x.rawBest)} (${x.rawBestAt}) | ${fmt(x.ratioBest, 3)} |`),
    '',
    '| measure | value | goal | met |',
    '| --- | --- | --- | --- |',
    `| **one client: service p50 ÷ raw onnxruntime p50, same calls, best layout** (median of ${latency.rounds.length} rounds) | ${fmt(latency.ratio, 3)} | ≤ 1.2 | ${mark(latency.ratio <= 1.2)} |`,
    `| **saturation: service ÷ raw at the batch the service ran** (median of ${sat.rounds.length} rounds) | ${fmt(sat.ratioSameBatch, 3)} | ≥ 0.95 | ${mark(sat.ratioSameBatch >= 0.95)} |`,
    `| **saturation: service ÷ raw at its best batch and layout** (each round's fastest raw point; median of the rounds) | ${fmt(sat.ratioBest, 3)} | ≥ 0.90 | ${mark(sat.ratioBest >= 0.9)} |`,
    `| service at saturation, ${sat.clients} clients (${sat.engine ? `${sat.engine.workers} × ${sat.engine.intra_op_threads} thread, target ${sat.engine.target_rows ?? '?'} rows` : '?'}) | ${fmt(sat.imagesPerS)} images/s (avg ${fmt(sat.avgRows)} rows/call, ${sat.errors} errors) | | |`,
    `| raw limit in the sweep (i) (max of noisy points) | ${fmt(sweep.candidates[0].imagesPerS)} images/s | | |`,
    `| /healthz p50 / p99 while saturated (${sat.healthN} probes) | ${fmt(sat.healthP50, 2)} / ${fmt(sat.healthP99, 2)} ms | p99 ≤ 20 ms | ${mark(sat.healthP99 <= 20)} |`,
    `| request latency p50 / p99 at saturation | ${fmt(sat.p50)} / ${fmt(sat.p99)} ms | | |`,
    `| mixed load, step-level p99 at 64 clients${r.previousStepP99 ? `, this run / the previous run` : ''} | ${fmt(st.p99)}${r.previousStepP99 ? ` / ${fmt(r.previousStepP99)}` : ''} ms | no worse | ${r.previousStepP99 ? mark(st.p99 <= r.previousStepP99 * 1.1) : '–'} |`,
    `| PyTorch peer: best batch, either layout / one request at a time | ${t ? `${fmt(tb)} / ${fmt(t.images_per_s_one_at_a_time)} images/s` : `not measured (${torch.why})`} | | |`,
    `| service ÷ PyTorch at its best batch / one request at a time | ${t ? `${fmt(sat.imagesPerS / tb, 2)} / ${fmt(sat.imagesPerS / t.images_per_s_one_at_a_time, 1)}` : '–'} | | |`,
    '',
    'Step- vs request-level batching, mixed workload (steps 1–4, guidance 0–4, one image per request):',
    '',
    '| clients | step: images/s | step: p50 / p99 ms | request: images/s | request: p50 / p99 ms |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...SWEEP_CLIENTS.map((c, i) => `| ${c} | ${fmt(sweeps.step[i].imagesPerS)} | ${fmt(sweeps.step[i].p50)} / ${fmt(sweeps.step[i].p99)} | ${fmt(sweeps.request[i].imagesPerS)} | ${fmt(sweeps.request[i].p50)} / ${fmt(sweeps.request[i].p99)} |`),
    '',
    `At ${st.clients} clients: step-level p99 ${fmt(st.p99)} ms vs request-level ${fmt(rq.p99)} ms, images/s ${fmt(st.imagesPerS)} vs ${fmt(rq.imagesPerS)}.`,
    '',
    ...repeatability(r.history),
  ];
  return lines.join('\n');
}

/** Every run kept in the history (this one last), and the median and range of each headline. */
function repeatability(h: Headline[]): string[] {
  if (!h.length) return [];
  const cols: Array<[string, (x: Headline) => number, number]> = [
    ['1 client ÷ raw', (x) => x.latency_ratio, 3],
    ['service p50 ms', (x) => x.service_p50_ms, 2],
    ['saturation ÷ raw, same batch', (x) => x.saturation_ratio_same_batch, 3],
    ['saturation ÷ raw limit', (x) => x.saturation_ratio_best, 3],
    ['service images/s', (x) => x.service_images_per_s, 1],
    ['/healthz p99 ms', (x) => x.healthz_p99_ms, 1],
    ['step p99 @64 ms', (x) => x.step_p99_64_ms, 0],
  ];
  const stat = (f: (x: Headline) => number) => {
    const v = h.map(f).filter(Number.isFinite).sort((a, b) => a - b);
    return { med: v[Math.floor((v.length - 1) / 2)], lo: v[0], hi: v[v.length - 1] };
  };
  return [
    `Repeatability (loadtest/results/bench-history.jsonl, ${h.length} run${h.length > 1 ? 's' : ''} of ${h[0].model}; this run last):`,
    '',
    `| run | ${cols.map((c) => c[0]).join(' | ')} |`,
    `| --- | ${cols.map(() => '---:').join(' | ')} |`,
    ...h.map((x) => `| ${x.date.slice(0, 16).replace('T', ' ')} | ${cols.map(([, f, d]) => fmt(f(x), d)).join(' | ')} |`),
    `| **median** (min–max) | ${cols.map(([, f, d]) => { const s = stat(f); return `**${fmt(s.med, d)}** (${fmt(s.lo, d)}–${fmt(s.hi, d)})`; }).join(' | ')} |`,
  ];
}

/**
 * `npm run bench`: the benchmark report, in one run, on the same machine, same weights, same
 * network evaluations (bench/workload.ts):
 *  (i)   raw onnxruntime by batch size, both session layouts (phases/raw-sweep.ts)
 *  (ii)  one client: service p50 vs raw onnxruntime one image at a time (phases/latency.ts)
 *  (iii) saturation: service vs raw at its batch and at the raw limit (phases/saturation.ts)
 *  (iv)  the PyTorch peer (phases/torch.ts)
 *  (v)   step- vs request-level batching on the mixed workload (phases/batching.ts)
 * Prints the report (bench/report.ts), appends the headline to loadtest/results/bench-history.jsonl
 * (the repeatability table), writes loadtest/results/bench.json and the plot bench.png.
 * Every phase is bounded in time (BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARM_SECONDS,
 * BENCH_SWEEP_SECONDS, BENCH_LATENCY_SECONDS) and in request count.
 *
 * With `--model DIR` it runs the real-size benchmark of that model folder instead
 * (bench/real-size.ts: raw onnxruntime in both layouts, the service, PyTorch eager at batch 1, 4
 * and 16; loading, RSS per replica, float16 against float32).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machine } from '../loadtest/common.js';
import { renderPlot } from './plot.js';
import { layoutName } from './raw.js';
import { report, type Headline } from './report.js';
import { batchingPhase } from './phases/batching.js';
import { latencyPhase } from './phases/latency.js';
import { rawSweep, RAW_BATCHES } from './phases/raw-sweep.js';
import { saturationPhase } from './phases/saturation.js';
import { TORCH_BATCHES, torchBest, torchPhase } from './phases/torch.js';
import { workload } from './workload.js';

// `npm run bench -- --model DIR`: the benchmark at a model's real size instead (bench/real-size.ts)
if (process.argv.includes('--model')) {
  const { realSizeBench } = await import('./real-size.js');
  await realSizeBench(process.argv.slice(2));
  process.exit(0);
}

const env = (k: string, d: number) => Number(process.env[k] ?? d);
const SECONDS = env('BENCH_SECONDS', 15);
const ROUNDS = Math.max(1, env('BENCH_ROUNDS', 5));
const WARM_SECONDS = env('BENCH_WARM_SECONDS', 15);
const SWEEP_SECONDS = env('BENCH_SWEEP_SECONDS', 4);
const LATENCY_SECONDS = env('BENCH_LATENCY_SECONDS', 3);
const CONCURRENCY = env('BENCH_CONCURRENCY', 64);
const PORT = env('BENCH_PORT', 18080);
const RESULTS = 'loadtest/results';
const HISTORY = `${RESULTS}/bench-history.jsonl`;

const w = workload();
const serverEnv = { MAX_BATCH: String(w.maxBatch), QUEUE_LIMIT: String(Math.max(1024, CONCURRENCY * 2)) };
const log = (line: string) => process.stderr.write(line + '\n');
const { manifest, graph } = w.m;
console.log(`model ${graph.model} (${manifest.image.channels}×${manifest.image.height}×${manifest.image.width}), guidance ${w.guidance}, σ ${JSON.stringify(w.sigmas)} → ${w.rowsPerImage} rows/image; service layout ${layoutName(w.serviceLayout)}, ${w.cores} cores`);

const date = new Date().toISOString();
const mach = machine();
const previous = existsSync(`${RESULTS}/bench.json`) ? JSON.parse(readFileSync(`${RESULTS}/bench.json`, 'utf8')) : null;
const sweep = await rawSweep(w, log);
const latency = await latencyPhase(w, PORT, ROUNDS, LATENCY_SECONDS, serverEnv);
const sat = await saturationPhase(w, PORT, sweep.candidates, { clients: CONCURRENCY, rounds: ROUNDS, seconds: SECONDS, warmS: WARM_SECONDS, env: serverEnv });
const torch = await torchPhase(w);
const sweeps = await batchingPhase(w, PORT + 1, SWEEP_SECONDS, WARM_SECONDS / 2, serverEnv);

const headline: Headline = {
  date,
  model: graph.model,
  latency_ratio: latency.ratio,
  service_p50_ms: latency.rounds.map((r) => r.serviceP50).sort((a, b) => a - b)[Math.floor((latency.rounds.length - 1) / 2)],
  raw_best_p50_ms: latency.rounds.map((r) => r.rawBest).sort((a, b) => a - b)[Math.floor((latency.rounds.length - 1) / 2)],
  saturation_ratio_same_batch: sat.ratioSameBatch,
  saturation_ratio_best: sat.ratioBest,
  service_images_per_s: sat.imagesPerS,
  raw_limit_images_per_s: sweep.candidates[0].imagesPerS,
  healthz_p99_ms: sat.healthP99,
  step_p99_64_ms: sweeps.step.at(-1)!.p99,
};
mkdirSync(RESULTS, { recursive: true });
appendFileSync(HISTORY, JSON.stringify(headline) + '\n');
const history = readFileSync(HISTORY, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Headline).filter((h) => h.model === graph.model);
const previousStepP99 = previous?.batching?.step?.at?.(-1)?.p99 as number | undefined;
const text = report({ w, sweep, latency, sat, torch, sweeps, history, previousStepP99 });
console.log(text);

writeFileSync(
  `${RESULTS}/bench.json`,
  JSON.stringify(
    {
      date,
      machine: { ...mach, torch: torch.result ? { version: torch.result.torch, threads: torch.result.threads } : null },
      model: graph.model,
      workload: { guidance: w.guidance, sigmas: w.sigmas, rows_per_image: w.rowsPerImage },
      service_config: { ...serverEnv, ENGINE_WORKERS: w.serviceLayout.sessions, INTRA_OP_THREADS: w.serviceLayout.threads, clients: CONCURRENCY, seconds: SECONDS },
      raw_onnxruntime: sweep,
      latency,
      saturation: sat,
      pytorch: torch.result ?? { not_measured: torch.why },
      batching: sweeps,
      headline,
      report: text,
      gpu: 'not measured: no CUDA GPU was available to this run',
    },
    null,
    2,
  ) + '\n',
);
await renderPlot(`${RESULTS}/bench.png`, {
  title: `jfdl-serve on ${mach.cores} CPU cores (${String(mach.cpu).replace(/\s+/g, ' ')}) — ${graph.model}, guided ${w.sigmas.length}-step`,
  raw: RAW_BATCHES.map((b) => [b, sweep.service[String(b)]] as [number, number]),
  rawLabel: `raw onnxruntime, ${layoutName(w.serviceLayout)} (service)`,
  rawAlt: RAW_BATCHES.map((b) => [b, sweep.alt[String(b)]] as [number, number]),
  rawAltLabel: `raw onnxruntime, ${layoutName(w.altLayout)}`,
  torch: torch.result ? TORCH_BATCHES.filter((b) => torch.result!.images_per_s_by_batch[String(b)] !== undefined).map((b) => [b, torch.result!.images_per_s_by_batch[String(b)]] as [number, number]) : [],
  torchLabel: `PyTorch reference sampler, 1 process × ${torch.result?.threads ?? w.cores} threads`,
  torchAlt: Object.entries(torch.result?.per_core_processes?.images_per_s_by_batch ?? {}).map(([b, v]) => [Number(b), v] as [number, number]),
  torchAltLabel: `PyTorch, ${torch.result?.per_core_processes?.processes ?? w.cores} processes × 1 thread`,
  torchSingle: torch.result?.images_per_s_one_at_a_time,
  service: sat.imagesPerS,
  step: sweeps.step.map((d) => ({ clients: d.clients, p50: d.p50, p99: d.p99, ips: d.imagesPerS })),
  request: sweeps.request.map((d) => ({ clients: d.clients, p50: d.p50, p99: d.p99, ips: d.imagesPerS })),
});
console.log(`\nwritten ${RESULTS}/bench.json, ${HISTORY} and ${RESULTS}/bench.png${Number.isFinite(torchBest(torch.result)) ? '' : ' (no PyTorch peer)'}`);

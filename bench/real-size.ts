/**
 * `npm run bench -- --model DIR`: the benchmark at a model's real size (any model folder of the
 * contract; made for the import of a random-weight full-size ImageNet-64 checkpoint, whose one
 * row takes seconds on a CPU). In one run, same weights, same machine:
 *  - the server in each CPU engine layout: time to listen and to be ready (file checks, session
 *    creation, warm-up), RSS per replica (phases/real-serve.ts);
 *  - rows/s at batch 1, 4, 16 (`--batches`): raw onnxruntime in both layouts (phases/real-raw.ts),
 *    the service in its own layout (phases/real-serve.ts), PyTorch eager (phases/real-torch.ts),
 *    and the ratios;
 *  - with `--float16 DIR16` (the same checkpoint imported with --dtype float16): parity and
 *    speed against float32, and its load and RSS (phases/real-float16.ts);
 *  - the CUDA provider's rows/s where a CUDA GPU is present, else it says so.
 * Bounded by counts, not time: `--calls` calls per batch size (the first untimed), every phase
 * once. Prints the report (bench/real-report.ts) and writes loadtest/results/bench-real-size.json
 * (`--out`). Options: --graph NAME, --phases serve,raw,torch,float16, --torch-threads N,
 * --parity-rows N, --port N.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { machine } from '../loadtest/common.js';
import { threadsPerSession, totalWorkers } from '../src/engine/layout.js';
import { cudaPhase, rawPhase, type RawLayoutRows } from './phases/real-raw.js';
import { float16Parity, float16Speed, type Float16Parity } from './phases/real-float16.js';
import { serveLayout, type ServedLayout } from './phases/real-serve.js';
import { torchPhase, type TorchRows } from './phases/real-torch.js';
import { layoutName, type RawLayout, type RawRows } from './raw.js';
import { realModel, type RealModel } from './real-model.js';
import { realSizeReport } from './real-report.js';

export interface RealSizeResult {
  date: string;
  machine: Record<string, unknown>;
  loadavg: { start: number[]; end: number[] };
  model: { dir: string; graph: string; files: Array<{ file: string; bytes: number }>; weights: string; chw: [number, number, number] };
  batches: number[];
  calls: number;
  serviceLayout: RawLayout;
  served: ServedLayout[];
  raw: RawLayoutRows[];
  torch: TorchRows | null;
  torchWhy?: string;
  float16?: { model: RealSizeResult['model']; parity: Float16Parity | null; speed: (RawRows & { layout: RawLayout }) | null; served: ServedLayout | null };
  cuda: { rows?: RawRows; why?: string };
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

const describe = (r: RealModel): RealSizeResult['model'] => ({ dir: r.dir, graph: r.m.graph.model, files: r.files, weights: r.m.graph.weights_dtype, chw: r.raw.chw });

export async function realSizeBench(argv: string[]): Promise<void> {
  const dir = option(argv, 'model')!;
  const batches = (option(argv, 'batches') ?? '1,4,16').split(',').map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error('--batches: positive integers, e.g. 1,4,16');
  const calls = Math.max(1, Number(option(argv, 'calls') ?? 2));
  const phases = new Set((option(argv, 'phases') ?? 'serve,raw,torch,float16').split(','));
  const cores = availableParallelism();
  const torchThreads = Number(option(argv, 'torch-threads') ?? 0);
  const parityRows = Number(option(argv, 'parity-rows') ?? 6);
  const port = Number(option(argv, 'port') ?? 18090);
  const out = option(argv, 'out') ?? 'loadtest/results/bench-real-size.json';
  const log = (l: string) => console.log(l);

  const model = realModel(dir, option(argv, 'graph'));
  const fp16Dir = option(argv, 'float16');
  const fp16 = fp16Dir ? realModel(fp16Dir) : null;
  const start = loadavg();
  // the service's own layout for this graph (ENGINE_WORKERS / INTRA_OP_THREADS as set, else automatic)
  const cfg = { workers: Number(process.env.ENGINE_WORKERS ?? 0), intraOpThreads: Number(process.env.INTRA_OP_THREADS ?? 0), graphBytes: model.bytes };
  const serviceLayout: RawLayout = { sessions: totalWorkers(cfg, cores, 'cpu'), threads: threadsPerSession(cfg, cores) };
  const perCore: RawLayout = { sessions: cores, threads: 1 };
  const oneSession: RawLayout = { sessions: 1, threads: cores };
  const layouts = [perCore, oneSession];
  const same = (a: RawLayout, b: RawLayout) => a.sessions === b.sessions && a.threads === b.threads;
  const envOf = (l: RawLayout) => ({ ENGINE_WORKERS: String(l.sessions), INTRA_OP_THREADS: String(l.threads) });
  console.log(
    `real-size benchmark: ${model.m.graph.model} (${model.files.map((f) => `${f.file} ${(f.bytes / 2 ** 20).toFixed(0)} MiB`).join(' + ')}, ${model.m.graph.weights_dtype} weights, ${model.raw.chw.join('×')}), ` +
      `${cores} cores, load average ${start.map((x) => x.toFixed(2)).join(' ')}; batches ${batches.join(', ')}, ${calls} call(s) each${calls > 1 ? ' (the first untimed)' : ''}; the service's layout: ${layoutName(serviceLayout)}`,
  );

  const result: RealSizeResult = {
    date: new Date().toISOString(),
    machine: machine(),
    loadavg: { start, end: [] },
    model: describe(model),
    batches,
    calls,
    serviceLayout,
    served: [],
    raw: [],
    torch: null,
    cuda: {},
  };
  try {
    if (phases.has('serve')) {
      console.log('(1) the server in each layout: loading, memory; the service\'s rows/s in its own layout');
      for (const l of [serviceLayout, ...layouts.filter((x) => !same(x, serviceLayout))]) {
        const isService = same(l, serviceLayout);
        result.served.push(await serveLayout(model, port, `${layoutName(l)}${isService ? ' (the service\'s layout)' : ''}`, isService ? {} : envOf(l), isService ? batches : null, log));
      }
    }
    if (phases.has('raw')) {
      console.log('(2) raw onnxruntime, both layouts');
      result.raw = await rawPhase(model, layouts, batches, calls, log);
      result.cuda = await cudaPhase(model, batches, calls, log);
    } else result.cuda = { why: 'not run (--phases)' };
    if (phases.has('torch')) {
      console.log('(3) PyTorch eager on the same weights');
      const t = await torchPhase(model, batches, calls, torchThreads, 3600, log);
      result.torch = t.result;
      result.torchWhy = t.why;
    }
    if (phases.has('float16')) {
      if (!fp16) console.log('(4) float16: not measured — give --float16 DIR16, the same checkpoint imported with --dtype float16');
      else {
        console.log(`(4) float16 (${fp16.dir}) against float32`);
        const parity = await float16Parity(model, fp16, parityRows, cores, log);
        const speed = await float16Speed(fp16, serviceLayout, batches, calls, log);
        const served = phases.has('serve') ? await serveLayout(fp16, port, `${layoutName(serviceLayout)}, float16 weights`, {}, null, log) : null;
        result.float16 = { model: describe(fp16), parity, speed, served };
      }
    }
  } finally {
    model.cleanup();
    fp16?.cleanup();
  }
  result.loadavg.end = loadavg();
  const text = realSizeReport(result);
  console.log(`\n${text}`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ ...result, report: text }, null, 2) + '\n');
  console.log(`\nwritten ${out}`);
}

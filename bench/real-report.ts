/** The real-size benchmark's report (bench/real-size.ts): markdown tables and the ratios. */
import { fmt } from '../loadtest/common.js';
import { layoutName } from './raw.js';
import type { RealSizeResult } from './real-size.js';

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ratio = (a: number | undefined, b: number | undefined, d = 2) => (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(d) : '–');
const s = (ms: number | null | undefined) => (ms === null || ms === undefined || !Number.isFinite(ms) ? '–' : (ms / 1000).toFixed(1));

export function realSizeReport(r: RealSizeResult): string {
  const L: string[] = [];
  const sizes = r.model.files.map((f) => `${f.file} ${mib(f.bytes)}`).join(' + ');
  L.push(`Real-size benchmark: ${r.model.graph} (${sizes}, ${r.model.weights} weights, ${r.model.chw.join('×')}), ${r.date}`);
  L.push(`Machine: ${r.machine.cpu} (${r.machine.cores} cores, ${r.machine.memory_gib} GiB), Node ${r.machine.node}, onnxruntime-node ${r.machine.onnxruntime_node}${r.torch ? `, PyTorch ${r.torch.torch}` : ''}; load average ${r.loadavg.start.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadavg.end.map((x) => x.toFixed(2)).join(' ')} at the end.`);
  L.push(`One row = f(x, σ, c) of one image at σ = σ_max; ${r.calls} call(s) per batch size${r.calls > 1 ? ', the first untimed' : ''}.`);
  L.push('');

  const raw = (name: string) => r.raw.find((x) => x.name === name);
  const cores = Number(r.machine.cores);
  const perCore = raw(layoutName({ sessions: cores, threads: 1 }));
  const one = raw(layoutName({ sessions: 1, threads: cores }));
  const rawService = raw(layoutName(r.serviceLayout));
  const service = r.served.find((x) => x.service)?.service;
  const torch = r.torch?.rows_per_s_by_batch;
  const bestRaw = (b: string) => Math.max(perCore?.rowsPerS[b] ?? -Infinity, one?.rowsPerS[b] ?? -Infinity);
  L.push('Rows/s by batch size (rows per call, or requests sent at once to the service):');
  L.push('');
  L.push(`| batch | raw onnxruntime, ${perCore?.name ?? `${cores} sessions × 1 thread`} | raw onnxruntime, ${one?.name ?? `1 session × ${cores} threads`} | service (${layoutName(r.serviceLayout)}; rows per call) | PyTorch eager (1 process × ${r.torch?.threads ?? '–'} threads) | service ÷ raw, same layout | best raw ÷ PyTorch | service ÷ PyTorch | per-core ÷ one session |`);
  L.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const bn of r.batches) {
    const b = String(bn);
    L.push(
      `| ${b} | ${fmt(perCore?.rowsPerS[b] ?? NaN, 3)} | ${fmt(one?.rowsPerS[b] ?? NaN, 3)} | ${fmt(service?.rowsPerS[b] ?? NaN, 3)}${service ? ` (${fmt(service.rowsPerCall[b], 1)})` : ''} | ${fmt(torch?.[b] ?? NaN, 3)} | ${ratio(service?.rowsPerS[b], rawService?.rowsPerS[b])} | ${ratio(bestRaw(b), torch?.[b])} | ${ratio(service?.rowsPerS[b], torch?.[b])} | ${ratio(perCore?.rowsPerS[b], one?.rowsPerS[b])} |`,
    );
  }
  if (!r.raw.length) L.push('(raw onnxruntime not run)');
  if (!r.torch) L.push(`(PyTorch: not measured${r.torchWhy ? ` — ${r.torchWhy}` : ''})`);
  if (service?.errors) L.push(`(the service answered ${service.errors} request(s) with an error)`);
  L.push('');

  if (r.served.length) {
    L.push('Loading and memory per replica (one server process; the service runs one replica per process):');
    L.push('');
    L.push('| layout | sessions × threads | listening (s) | ready (s) | SHA-256 checks (s) | session creation (s) | warm-up (s) | warm-up ms per row | RSS ready (MiB) | RSS after the requests (MiB) | peak RSS (MiB) |');
    L.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const rows = [...r.served, ...(r.float16?.served ? [r.float16.served] : [])];
    for (const x of rows)
      L.push(`| ${x.layout} | ${x.engine ? `${x.engine.workers} × ${x.engine.intra_op_threads}` : '–'} | ${fmt(x.listenS)} | ${fmt(x.readyS)} | ${s(x.verifyMs)} | ${s(x.loadMs)} | ${s(x.warmupMs)} | ${fmt(x.engine?.ms_per_row ?? NaN, 0)} | ${fmt(x.rssReadyMiB, 0)} | ${fmt(x.rssAfterMiB, 0)} | ${fmt(x.peakMiB, 0)} |`);
    L.push('');
  }

  if (r.float16) {
    const f = r.float16;
    const size16 = f.model.files.reduce((a, x) => a + x.bytes, 0);
    const size32 = r.model.files.reduce((a, x) => a + x.bytes, 0);
    L.push(`float16 weights (${f.model.dir}): ${mib(size16)} on disk against ${mib(size32)} (${ratio(size16, size32)}×).`);
    if (f.parity) L.push(`Parity, max abs difference of f(x, σ, c) from float32: ${f.parity.sigmas.map((sg, i) => `σ ${+sg.toPrecision(4)}: ${f.parity!.maxAbs[i].toExponential(2)} (|f| ≤ ${f.parity!.maxOut[i].toFixed(2)})`).join('; ')}; worst ${f.parity.worst.toExponential(2)}.`);
    if (f.speed) {
      const base = raw(layoutName(f.speed.layout));
      L.push(`Speed, raw onnxruntime ${layoutName(f.speed.layout)}: ${r.batches.map((bn) => `batch ${bn} ${fmt(f.speed!.rowsPerS[String(bn)], 3)} rows/s (float16 ÷ float32 ${ratio(f.speed!.rowsPerS[String(bn)], base?.rowsPerS[String(bn)])})`).join('; ')}.`);
    }
    L.push('');
  } else L.push('float16: not measured (--float16 DIR16: the same checkpoint imported with --dtype float16).');

  L.push(r.cuda.rows ? `CUDA (raw onnxruntime, 1 session): ${r.batches.map((bn) => `batch ${bn} ${fmt(r.cuda.rows!.rowsPerS[String(bn)], 2)} rows/s`).join('; ')}.` : `CUDA: not measured — ${r.cuda.why ?? 'not run'}.`);
  return L.join('\n');
}

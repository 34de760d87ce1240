/**
 * Real-size benchmark, PyTorch eager on the same weights: `python3 -m training bench-torch
 * --rows-batches …` (training/bench_torch.py bench_rows: the module rebuilt from the model
 * folder's graph, f(x, σ, c) at each batch size, timed as raw onnxruntime is).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { RealModel } from '../real-model.js';

export interface TorchRows {
  torch: string;
  threads: number;
  rows_per_s_by_batch: Record<string, number>;
  call_ms: Record<string, number[]>;
  load_s: number;
  max_rss_mib: number;
}

export async function torchPhase(model: RealModel, batches: number[], calls: number, threads: number, timeoutS: number, log: (l: string) => void): Promise<{ result: TorchRows | null; why?: string }> {
  if (!existsSync('training')) return { result: null, why: 'training/ not present' };
  const py = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const kind = model.m.graph.kind;
  const args = ['-m', 'training', 'bench-torch', '--model-dir', model.dir, '--graph', kind, '--rows-batches', batches.join(','), '--calls', String(calls), '--sigma', String(model.m.manifest.sigma.max), ...(threads ? ['--threads', String(threads)] : [])];
  log(`  ${py} ${args.join(' ')}`);
  const t0 = performance.now();
  const child = spawn(py, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
  const code = await new Promise<number | null>((r) => {
    child.on('error', () => r(-1));
    child.on('close', (c) => r(c));
  });
  clearTimeout(timer);
  if (code !== 0) {
    const why = code === null ? `killed after ${timeoutS} s` : `exit ${code}: ${err.trim().split('\n').at(-1) ?? ''}`;
    log(`  PyTorch: not measured (${why})`);
    return { result: null, why };
  }
  try {
    const result = JSON.parse(out.slice(out.indexOf('{'))) as TorchRows;
    log(`  PyTorch eager, 1 process × ${result.threads} thread(s): ${batches.map((b) => `batch ${b} ${result.rows_per_s_by_batch[String(b)].toFixed(3)} rows/s`).join(', ')} (weights loaded in ${result.load_s} s; ran ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return { result };
  } catch (e) {
    return { result: null, why: `unparsable output: ${(e as Error).message}` };
  }
}

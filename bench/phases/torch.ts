/**
 * (iv) The PyTorch peer: `python3 -m training bench-torch` (training/bench_torch.py), the
 * reference sampler with the same weights, at its best batch (one process over all cores, and
 * one single-threaded process per core side by side: the better is the PyTorch ceiling) and one
 * request at a time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Workload } from '../workload.js';

export const TORCH_BATCHES = [1, 8, 32, 64, 128];
const TORCH_PARALLEL_BATCHES = [32, 128];

export interface TorchResult {
  images_per_s_by_batch: Record<string, number>;
  best_batch: number;
  images_per_s_best: number;
  images_per_s_one_at_a_time: number;
  torch: string;
  threads: number;
  /** one single-threaded process per core, side by side */
  per_core_processes?: { processes: number; threads: number; images_per_s_by_batch: Record<string, number>; best_batch: number; images_per_s_best: number };
}

export async function torchPhase(w: Workload): Promise<{ result: TorchResult | null; why?: string }> {
  if (!existsSync('training')) return { result: null, why: 'training/ not present' };
  const { m } = w;
  const py = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
  const args = ['-m', 'training', 'bench-torch', '--model-dir', join(m.modelsDir, m.folder), '--graph', m.graph.kind === 'cm' ? 'cm' : 'jfdl', '--sigmas', w.sigmas.join(','), '--guidance', String(w.guidance), '--images', '256', '--batch-sizes', TORCH_BATCHES.join(','), '--one-at-a-time', '32', ...(w.cores > 1 ? ['--parallel-batch-sizes', TORCH_PARALLEL_BATCHES.join(',')] : [])];
  console.log(`(iv) ${py} ${args.join(' ')}`);
  const t0 = performance.now();
  const child = spawn(py, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const code = await new Promise<number | null>((r) => {
    child.on('error', () => r(-1));
    child.on('close', (c) => r(c));
  });
  clearTimeout(timer);
  console.log(`  PyTorch peer ran ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0) return { result: null, why: code === null ? 'killed after 240 s' : `exit ${code}` };
  try {
    const result = JSON.parse(out.slice(out.indexOf('{'))) as TorchResult;
    const pc = result.per_core_processes;
    console.log(`  PyTorch: best ${result.images_per_s_best.toFixed(1)} images/s at batch ${result.best_batch}${pc ? `; ${pc.processes} single-threaded processes ${pc.images_per_s_best.toFixed(1)} at batch ${pc.best_batch}` : ''}; one at a time ${result.images_per_s_one_at_a_time.toFixed(1)}`);
    return { result };
  } catch (e) {
    return { result: null, why: `unparsable output: ${(e as Error).message}` };
  }
}

/** The PyTorch ceiling: the better of its two layouts at their best batches. */
export const torchBest = (t: TorchResult | null) => Math.max(t?.images_per_s_best ?? NaN, t?.per_core_processes?.images_per_s_best ?? -Infinity);

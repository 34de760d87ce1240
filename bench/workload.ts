/**
 * What every benchmark phase measures: the model under test (loadtest/common.ts pickModel), a
 * guided 2-step image at the manifest's schedule (2 network calls of 2 rows each — class and null
 * class — at σ_max and σ_mid), the service's engine layout as it will resolve it on CPU, and the
 * other layout (one session over all cores, or one per core) for comparison.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { guidanceOf, pickModel, type ModelUnderTest } from '../loadtest/common.js';
import { loadConfig } from '../src/config.js';
import { threadsPerSession, totalWorkers } from '../src/engine/layout.js';
import { defaultSchedule } from '../src/sampler/schedule.js';
import type { RawLayout, RawWorkload } from './raw.js';

export interface Workload {
  m: ModelUnderTest;
  guidance: number;
  guided: boolean;
  sigmas: number[];
  rowsPerImage: number;
  raw: RawWorkload;
  cores: number;
  /** the service's layout (ENGINE_WORKERS / INTRA_OP_THREADS as set, else automatic) */
  serviceLayout: RawLayout;
  /** the other layout, for comparison */
  altLayout: RawLayout;
  /** the service's MAX_BATCH: as set, else its default */
  maxBatch: number;
  /** the uniform request body for image i */
  body: (i: number) => string;
}

export function workload(): Workload {
  const m = pickModel();
  const { manifest, graph } = m;
  const guidance = guidanceOf(m);
  const guided = guidance !== 1;
  const sigmas = defaultSchedule(2, manifest.schedules, manifest.sigma);
  const cores = availableParallelism();
  const cfg = { workers: Number(process.env.ENGINE_WORKERS ?? 0), intraOpThreads: Number(process.env.INTRA_OP_THREADS ?? 0) };
  const serviceLayout = { sessions: totalWorkers(cfg, cores, 'cpu'), threads: threadsPerSession(cfg, cores) };
  const { channels: C, height: H, width: W } = manifest.image;
  return {
    m,
    guidance,
    guided,
    sigmas,
    rowsPerImage: (guided ? 2 : 1) * sigmas.length,
    raw: {
      graphPath: join(m.modelsDir, m.folder, graph.file),
      chw: [C, H, W],
      sigmas,
      rowsPerStep: guided ? 2 : 1,
      numClasses: manifest.classes.length,
      nullClass: graph.null_class,
    },
    cores,
    serviceLayout,
    altLayout: serviceLayout.sessions === 1 ? { sessions: cores, threads: 1 } : { sessions: 1, threads: cores },
    maxBatch: Number(process.env.MAX_BATCH ?? 0) || loadConfig({}).MAX_BATCH,
    body: (i) => JSON.stringify({ model: graph.model, class: i % manifest.classes.length, guidance, steps: 2, seed: i }),
  };
}

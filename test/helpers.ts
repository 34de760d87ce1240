/** Shared test helpers: build the real app on the real fixture graphs (no mocked model). */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { buildApp } from '../src/app.js';
import type { Config } from '../src/config.js';
import { testConfig } from './test-config.js';
import { ManifestSchema, type Manifest } from '../src/models/manifest.js';

export const FIXTURES = 'test/fixtures/models';
export const TINY = join(FIXTURES, 'tiny-rgb8');

export function tinyManifest(): Manifest {
  if (!existsSync(join(TINY, 'model.json'))) throw new Error(`fixture ${TINY} is missing (written by the Python export)`);
  return ManifestSchema.parse(JSON.parse(readFileSync(join(TINY, 'model.json'), 'utf8')));
}

/** The tiny fixture's guided graph entry. */
export function tinyGuided() {
  const g = tinyManifest().graphs.find((x) => x.null_class !== null);
  if (!g) throw new Error('tiny fixture has no guided graph');
  return g;
}

export async function makeApp(overrides: Partial<Record<keyof Config, string>> = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig({ MODELS_DIR: FIXTURES, INTRA_OP_THREADS: '1', EXECUTION_PROVIDERS: 'cpu', ...overrides }));
  await app.registry.loadAll();
  return app;
}

/** A temporary models folder holding a copy of the tiny fixture, manifest edited by `edit`. */
export function tempModels(variants: Record<string, (m: Record<string, any>) => void>): string {
  const dir = mkdtempSync(join(tmpdir(), 'jfdl-models-'));
  for (const [name, edit] of Object.entries(variants)) {
    const dst = join(dir, name);
    cpSync(TINY, dst, { recursive: true });
    const m = JSON.parse(readFileSync(join(dst, 'model.json'), 'utf8'));
    m.name = name;
    m.graphs = m.graphs.map((g: Record<string, unknown>, i: number) => ({ ...g, model: i === 0 ? name : `${name}-${i}` }));
    edit(m);
    writeFileSync(join(dst, 'model.json'), JSON.stringify(m, null, 2));
  }
  return dir;
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir);
}

/** Decode an encoded image to planar C-order pixels [C, H, W]. */
export async function decodePlanar(buf: Buffer, channels: number): Promise<Uint8Array> {
  const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
  const hw = info.width * info.height;
  const out = new Uint8Array(channels * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < channels; c++) out[c * hw + p] = data[p * info.channels + c];
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await sleep(5);
  }
}

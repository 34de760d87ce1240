/**
 * Graphs with ONNX external data in the registry: the fixture test/fixtures/external/tiny-rgb8-ext
 * (tiny-rgb8's graphs, weights moved to cm.onnx.data / jfdl.onnx.data by `python3 -m training
 * external-data`) loads, its files' SHA-256 verified, and computes exactly what tiny-rgb8
 * computes; a corrupted, missing, unlisted or unused external-data file is refused at load with
 * an error naming the file, while the other models serve.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';
import { buildApp } from '../../src/app.js';
import { contractFeeds, sessionOptions } from '../../src/engine/session.js';
import { ManifestSchema } from '../../src/models/manifest.js';
import { TINY } from '../helpers.js';
import { testConfig } from '../test-config.js';
import { contractGraph } from '../tools/onnx-writer.js';

const EXT = 'test/fixtures/external/tiny-rgb8-ext';
const manifest = ManifestSchema.parse(JSON.parse(readFileSync(join(EXT, 'model.json'), 'utf8')));
const golden = JSON.parse(readFileSync('test/golden/tiny-rgb8.json', 'utf8')) as {
  network: Array<{ graph: string; x: number[]; shape: number[]; sigma: number[]; class_labels: number[]; output: number[] }>;
};

describe('external-data fixture', () => {
  test('the manifest lists each graph\'s data file with its SHA-256', () => {
    for (const g of manifest.graphs) {
      assert.deepEqual(g.external_data.map((d) => d.file), [`${g.file}.data`]);
      assert.match(g.external_data[0].sha256, /^[0-9a-f]{64}$/);
      assert.equal(g.weights_dtype, 'float32');
    }
  });

  test('each graph computes tiny-rgb8\'s golden outputs bit for bit as the self-contained graph does', async () => {
    for (const v of golden.network) {
      const [B, C, H, W] = v.shape;
      const feeds = () => contractFeeds(ort.Tensor, B, [C, H, W], Float32Array.from(v.x), Float32Array.from(v.sigma), BigInt64Array.from(v.class_labels, (c) => BigInt(c)));
      const run = async (path: string) => {
        const s = await ort.InferenceSession.create(path, sessionOptions('cpu', 1));
        const y = (await s.run(feeds()))[s.outputNames[0]].data as Float32Array;
        await s.release();
        return y;
      };
      const external = await run(join(EXT, v.graph));
      assert.deepEqual(external, await run(join(TINY, v.graph)));
      let d = 0;
      for (let k = 0; k < external.length; k++) d = Math.max(d, Math.abs(external[k] - v.output[k]));
      assert.ok(d <= 1e-4, `${v.graph}: max abs ${d} against the PyTorch golden vectors`);
    }
  });
});

/** A models folder: tiny-rgb8 as it is, and copies of the external-data fixture broken by `edit`. */
function modelsFolder(variants: Record<string, (dir: string, m: Record<string, any>) => void>): string {
  const root = mkdtempSync(join(tmpdir(), 'jfdl-ext-models-'));
  cpSync(TINY, join(root, 'tiny-rgb8'), { recursive: true });
  for (const [name, edit] of Object.entries(variants)) {
    const dir = join(root, name);
    cpSync(EXT, dir, { recursive: true });
    const m = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    m.name = name;
    m.graphs = m.graphs.map((g: Record<string, unknown>) => ({ ...g, model: g.kind === 'cm' ? `${name}-cm` : name }));
    edit(dir, m);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(m, null, 2));
  }
  return root;
}

describe('external data in the registry', () => {
  let app: FastifyInstance;
  let root: string;
  before(async () => {
    root = modelsFolder({
      'ext-good': () => undefined,
      // one byte of the CM's weights changed: same size, wrong hash
      'ext-corrupt': (dir) => {
        const p = join(dir, 'cm.onnx.data');
        const b = readFileSync(p);
        b[b.length >> 1] ^= 0x40;
        writeFileSync(p, b);
      },
      'ext-missing': (dir) => unlinkSync(join(dir, 'cm.onnx.data')),
      // the graph still keeps its weights in cm.onnx.data; the manifest no longer says so
      'ext-unlisted': (_dir, m) => (m.graphs.find((g: { kind: string }) => g.kind === 'cm').external_data = []),
      // the manifest claims a file the graph does not use
      'ext-unused': (dir, m) => {
        writeFileSync(join(dir, 'extra.data'), 'x');
        m.graphs.find((g: { kind: string }) => g.kind === 'cm').external_data.push({ file: 'extra.data', sha256: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881' });
      },
      // a graph whose weights sit outside its folder (which no manifest entry can name)
      'ext-escape': (dir, m) => {
        contractGraph(dir, 'cm.onnx', [3, 8, 8], 4, '../escape.bin');
        const g = m.graphs.find((x: { kind: string }) => x.kind === 'cm');
        g.sha256 = createHash('sha256').update(readFileSync(join(dir, 'cm.onnx'))).digest('hex');
        g.external_data = [];
      },
    });
    app = await buildApp(testConfig({ MODELS_DIR: root, INTRA_OP_THREADS: '1', ENGINE_WORKERS: '1', EXECUTION_PROVIDERS: 'cpu' }));
    await app.registry.loadAll();
  });
  after(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  const status = async () => new Map(((await app.inject({ method: 'GET', url: '/v1/models' })).json().models as Array<{ name: string; status: string; error?: string }>).map((m) => [m.name, m]));

  test('a graph with verified external data is served, guided and plain', async () => {
    const s = await status();
    assert.equal(s.get('ext-good')?.status, 'ready');
    assert.equal(s.get('ext-good-cm')?.status, 'ready');
    for (const model of ['ext-good', 'ext-good-cm']) {
      const res = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model, class: 'red', seed: 3, ...(model === 'ext-good' ? { guidance: 1.5 } : {}) } });
      assert.equal(res.statusCode, 200, res.body);
    }
    assert.ok((app.registry.get('ext-good')?.graphBytes ?? 0) > readFileSync(join(EXT, 'jfdl.onnx.data')).length, 'graph bytes count the data file');
  });

  test('corrupted, missing, unlisted and unused external-data files are refused by name', async () => {
    const s = await status();
    const err = (name: string) => {
      const e = s.get(name) ?? assert.fail(`${name} not listed`);
      assert.equal(e.status, 'error', `${name}: ${e.status}`);
      return e.error ?? '';
    };
    assert.match(err('ext-corrupt-cm'), /SHA-256 mismatch for external-data file cm\.onnx\.data of graph cm\.onnx/);
    assert.match(err('ext-missing-cm'), /external-data file cm\.onnx\.data of graph cm\.onnx not found/);
    assert.match(err('ext-unlisted-cm'), /graph cm\.onnx keeps tensor data \(net\.[^)]*\) in external-data file cm\.onnx\.data, which model\.json does not list/);
    assert.match(err('ext-unused-cm'), /lists external-data file extra\.data for graph cm\.onnx, which does not use it/);
    assert.match(err('ext-escape-cm'), /graph cm\.onnx keeps tensor data \(W\) in "\.\.\/escape\.bin", which is not a file beside it/);
    // each folder's JFDL graph has its own, intact data file and serves
    for (const name of ['ext-corrupt', 'ext-missing', 'ext-unlisted', 'ext-unused', 'ext-escape']) assert.equal(s.get(name)?.status, 'ready', name);
  });

  test('the other models serve: generate 200, a refused one 503 naming the file, /readyz lists it', async () => {
    const ok = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'tiny-rgb8', class: 0, seed: 1 } });
    assert.equal(ok.statusCode, 200);
    const bad = await app.inject({ method: 'POST', url: '/v1/generate', payload: { model: 'ext-corrupt-cm', class: 0 } });
    assert.equal(bad.statusCode, 503);
    assert.equal(bad.json().error, 'model_unavailable');
    assert.match(bad.json().message, /cm\.onnx\.data/);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.ok(ready.json().failed.some((f: { model: string; error: string }) => f.model === 'ext-missing-cm' && /cm\.onnx\.data/.test(f.error)));
  });
});

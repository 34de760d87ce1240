/**
 * The model under test of the real-size benchmark (`npm run bench -- --model DIR`): any model
 * folder of the contract, e.g. the import of a random-weight full-size ImageNet-64 checkpoint.
 * The server gets a models folder of its own holding only the measured graph of this model (its
 * manifest with that one graph, per-file symlinks into DIR: nothing is copied, and no other
 * graph shares the process whose memory is measured).
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { ModelUnderTest } from '../loadtest/common.js';
import { ManifestSchema, type GraphEntry } from '../src/models/manifest.js';
import type { RawWorkload } from './raw.js';

export interface RealModel {
  /** the folder as given */
  dir: string;
  m: ModelUnderTest;
  /** the graph's files with their sizes (graph first, then its external data) */
  files: Array<{ file: string; bytes: number }>;
  bytes: number;
  raw: RawWorkload;
  /** removes the server's models folder */
  cleanup(): void;
}

/** The graph to measure: `name` (a graphs[].model), else the plain CM, else the first graph. */
function pickGraph(graphs: GraphEntry[], name?: string): GraphEntry {
  if (name) return graphs.find((g) => g.model === name) ?? fail(`no graph "${name}" (graphs: ${graphs.map((g) => g.model).join(', ')})`);
  return graphs.find((g) => g.kind === 'cm') ?? graphs[0];
}

function fail(msg: string): never {
  throw new Error(msg);
}

export function realModel(dir: string, graphName?: string): RealModel {
  const abs = resolve(dir);
  const json = JSON.parse(readFileSync(join(abs, 'model.json'), 'utf8'));
  const manifest = ManifestSchema.parse(json);
  const graph = pickGraph(manifest.graphs, graphName);
  const files = [graph.file, ...graph.external_data.map((d) => d.file)].map((file) => ({ file, bytes: statSync(join(abs, file)).size }));
  const root = mkdtempSync(join(tmpdir(), 'jfdl-bench-models-'));
  const folder = basename(abs);
  mkdirSync(join(root, folder));
  writeFileSync(join(root, folder, 'model.json'), JSON.stringify({ ...json, graphs: json.graphs.filter((g: { model: string }) => g.model === graph.model) }, null, 1));
  for (const { file } of files) symlinkSync(join(abs, file), join(root, folder, file));
  const { channels: C, height: H, width: W } = manifest.image;
  return {
    dir: abs,
    m: { modelsDir: root, folder, manifest, graph },
    files,
    bytes: files.reduce((a, f) => a + f.bytes, 0),
    raw: {
      graphPath: join(abs, graph.file),
      chw: [C, H, W],
      sigmas: [manifest.sigma.max],
      rowsPerStep: 1,
      numClasses: manifest.classes.length,
      nullClass: graph.null_class,
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

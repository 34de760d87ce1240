/**
 * The files of one graph, checked before a session is made from them: the graph and every
 * external-data file it keeps tensors in must exist and have the SHA-256 the manifest gives, and
 * the manifest's `external_data` list must be exactly the files the graph refers to
 * (./onnx-external.ts reads those from the graph). Each failure names the file.
 *
 * Hashing streams the files in 1 MiB chunks: the event loop hashes a chunk (≈ 1 ms) between
 * other work, so a 1.2 GB graph never holds up /healthz or the models already serving.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { GraphEntry } from './manifest.js';
import { externalDataRefs, OnnxFormatError } from './onnx-external.js';

const CHUNK = 1 << 20;

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK })) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function fileSize(path: string): Promise<number | null> {
  const st = await stat(path).catch(() => null);
  return st?.isFile() ? st.size : null;
}

const plainName = (loc: string) => loc !== '' && loc !== '.' && loc !== '..' && !loc.includes('/') && !loc.includes('\\');

/**
 * Verify the graph at `path` (the manifest entry `g`) and its external-data files. Resolves with
 * their bytes on disk together; rejects with an Error whose message names the file at fault.
 */
export async function verifyGraphFiles(path: string, g: GraphEntry): Promise<{ bytes: number }> {
  const size = await fileSize(path);
  if (size === null) throw new Error(`graph file ${g.file} not found`);
  const digest = await sha256File(path);
  if (digest !== g.sha256.toLowerCase()) throw new Error(`SHA-256 mismatch for ${g.file}: manifest ${g.sha256}, file ${digest}`);

  const listed = g.external_data.map((d) => d.file);
  let used: Map<string, string[]> | null = null;
  try {
    used = (await externalDataRefs(path)).locations;
  } catch (e) {
    // not a well-formed ONNX protobuf: onnxruntime's own load error says what is wrong with it
    if (!(e instanceof OnnxFormatError)) throw e;
  }
  if (used) {
    for (const [loc, tensors] of used) {
      const some = `${tensors.slice(0, 2).join(', ')}${tensors.length > 2 ? ` and ${tensors.length - 2} more` : ''}`;
      if (!plainName(loc)) throw new Error(`graph ${g.file} keeps tensor data (${some}) in "${loc}", which is not a file beside it in the model folder`);
      if (!listed.includes(loc)) throw new Error(`graph ${g.file} keeps tensor data (${some}) in external-data file ${loc}, which model.json does not list (graphs[].external_data)`);
    }
    const unused = listed.filter((f) => !used!.has(f));
    if (unused.length) throw new Error(`model.json lists external-data file ${unused[0]} for graph ${g.file}, which does not use it`);
  }

  let bytes = size;
  const dir = dirname(path);
  for (const d of g.external_data) {
    const p = join(dir, d.file);
    const n = await fileSize(p);
    if (n === null) throw new Error(`external-data file ${d.file} of graph ${g.file} not found`);
    const h = await sha256File(p);
    if (h !== d.sha256.toLowerCase()) throw new Error(`SHA-256 mismatch for external-data file ${d.file} of graph ${g.file}: manifest ${d.sha256}, file ${h}`);
    bytes += n;
  }
  return { bytes };
}

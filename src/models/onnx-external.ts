/**
 * Which external-data files an ONNX graph refers to, read from the file without loading it.
 *
 * The manifest lists a graph's external-data files with their SHA-256 (docs/model-contract.md)
 * and the registry verifies them; this reader makes sure that list is the whole truth — a graph
 * that names a file the manifest does not list would otherwise have onnxruntime read unverified
 * data — and that every location is a plain file name beside the graph.
 *
 * Hand-written, on purpose: it walks the protobuf wire format (tag, varint, length) through the
 * few message types that can hold tensors (ModelProto → GraphProto / FunctionProto → NodeProto →
 * AttributeProto → TensorProto / SparseTensorProto, field numbers from onnx/onnx.proto) and skips
 * every other field by its length without reading it. A protobuf library would parse the whole
 * message into memory — 1.2 GB for a self-contained full-size graph — where this reads a few
 * hundred kilobytes by positioned reads, asynchronously, in any size of file. Files past 4 GiB
 * are fine: offsets are plain numbers (exact to 2^53).
 */
import { open, type FileHandle } from 'node:fs/promises';

/** What the reader found: each external-data location with the tensors stored there. */
export interface ExternalRefs {
  /** location (as written in the graph) → names of the tensors it holds */
  locations: Map<string, string[]>;
}

/** A file that is not a well-formed protobuf of the expected shape (truncated, or not ONNX). */
export class OnnxFormatError extends Error {}

// wire types
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

type Kind = 'model' | 'graph' | 'function' | 'node' | 'attribute' | 'tensor' | 'sparse' | 'entry';

/** Per message kind: field number → the kind of the sub-message it holds (others are skipped). */
const CHILDREN: Record<Kind, Record<number, Kind>> = {
  model: { 7: 'graph', 25: 'function' }, // ModelProto.graph, .functions
  graph: { 1: 'node', 5: 'tensor', 15: 'sparse' }, // GraphProto.node, .initializer, .sparse_initializer
  function: { 7: 'node' }, // FunctionProto.node
  node: { 5: 'attribute' }, // NodeProto.attribute
  attribute: { 5: 'tensor', 6: 'graph', 10: 'tensor', 11: 'graph', 22: 'sparse', 23: 'sparse' }, // t, g, tensors, graphs, sparse_tensor(s)
  sparse: { 1: 'tensor', 2: 'tensor' }, // SparseTensorProto.values, .indices
  tensor: { 13: 'entry' }, // TensorProto.external_data (StringStringEntryProto)
  entry: {},
};
const TENSOR_NAME = 8;
const TENSOR_DATA_LOCATION = 14;
const DATA_LOCATION_EXTERNAL = 1;

/** Positioned reads through a small window: the walk reads headers, never the tensors' bytes. */
class Reader {
  private buf = Buffer.alloc(0);
  private at = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /** `n` bytes at `pos` (fewer only at the end of the file). */
  async bytes(pos: number, n: number): Promise<Buffer> {
    if (pos >= this.at && pos + n <= this.at + this.buf.length) return this.buf.subarray(pos - this.at, pos - this.at + n);
    const len = Math.min(Math.max(n, 64 * 1024), this.size - pos);
    const buf = Buffer.alloc(Math.max(len, 0));
    const { bytesRead } = len > 0 ? await this.fh.read(buf, 0, len, pos) : { bytesRead: 0 };
    this.buf = buf.subarray(0, bytesRead);
    this.at = pos;
    return this.buf.subarray(0, Math.min(n, bytesRead));
  }

  /** A varint at `pos`: [value, bytes used]. Values past 2^53 (negative int64s are 10-byte varints) come back rounded: only lengths and tags are used, and those are small. */
  async varint(pos: number, end: number): Promise<[number, number]> {
    const b = await this.bytes(pos, Math.min(10, end - pos));
    let v = 0;
    let mul = 1;
    for (let i = 0; i < b.length; i++) {
      v += (b[i] & 0x7f) * mul;
      if (!(b[i] & 0x80)) return [v, i + 1];
      mul *= 128;
    }
    throw new OnnxFormatError(`truncated varint at byte ${pos}`);
  }
}

async function walk(r: Reader, kind: Kind, start: number, end: number, out: ExternalRefs, depth: number): Promise<{ name?: string; external: boolean; locations: string[]; key?: string; value?: string }> {
  if (depth > 64) throw new OnnxFormatError('messages nested too deep');
  const found: { name?: string; external: boolean; locations: string[]; key?: string; value?: string } = { external: false, locations: [] };
  let pos = start;
  while (pos < end) {
    const [tag, tl] = await r.varint(pos, end);
    pos += tl;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new OnnxFormatError(`field number 0 at byte ${pos - tl}`);
    if (wire === VARINT) {
      const [v, vl] = await r.varint(pos, end);
      if (kind === 'tensor' && field === TENSOR_DATA_LOCATION && v === DATA_LOCATION_EXTERNAL) found.external = true;
      pos += vl;
    } else if (wire === I64) pos += 8;
    else if (wire === I32) pos += 4;
    else if (wire === LEN) {
      const [len, ll] = await r.varint(pos, end);
      pos += ll;
      if (len > Number.MAX_SAFE_INTEGER || pos + len > end) throw new OnnxFormatError(`field ${field} at byte ${pos} runs past its message`);
      const child = CHILDREN[kind][field];
      if (child) {
        const sub = await walk(r, child, pos, pos + len, out, depth + 1);
        if (kind === 'tensor' && child === 'entry' && sub.key === 'location' && sub.value !== undefined) found.locations.push(sub.value);
      } else if ((kind === 'tensor' && field === TENSOR_NAME) || (kind === 'entry' && (field === 1 || field === 2))) {
        if (len > 65536) throw new OnnxFormatError(`string field ${field} of ${len} bytes at byte ${pos}`);
        const s = (await r.bytes(pos, len)).toString('utf8');
        if (kind === 'tensor') found.name = s;
        else if (field === 1) found.key = s;
        else found.value = s;
      }
      pos += len;
    } else if (wire === SGROUP || wire === EGROUP) throw new OnnxFormatError(`group field ${field} at byte ${pos - tl} (not used by ONNX)`);
    else throw new OnnxFormatError(`wire type ${wire} at byte ${pos - tl}`);
  }
  if (pos !== end) throw new OnnxFormatError(`message ends at byte ${pos}, expected ${end}`);
  if (kind === 'tensor' && (found.external || found.locations.length)) {
    for (const loc of found.locations.length ? found.locations : ['']) {
      const names = out.locations.get(loc) ?? [];
      names.push(found.name ?? '(unnamed tensor)');
      out.locations.set(loc, names);
    }
  }
  return found;
}

/**
 * The external-data locations of the ONNX graph at `path`. Throws OnnxFormatError when the file
 * is not a well-formed ONNX protobuf (the caller lets onnxruntime name the problem then); an
 * external tensor without a location is reported under the location "".
 */
export async function externalDataRefs(path: string): Promise<ExternalRefs> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const out: ExternalRefs = { locations: new Map() };
    await walk(new Reader(fh, size), 'model', 0, size, out, 0);
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * A minimal PNG encoder (ISO/IEC 15948: signature, IHDR, one IDAT, IEND; 8-bit grayscale, RGB or
 * RGBA; filter type 0; zlib deflate) with integer nearest-neighbour upscaling.
 *
 * Why not sharp for PNG: the service's images are tiny (8×8…64×64) and sharp/libvips spends
 * ~1.5 ms of pipeline set-up per image (measured here: 1453 µs vs 31 µs for this encoder on
 * 16×16), most of it on the event loop — at saturation that alone capped throughput far below
 * the network's. The output is a standard, deterministic PNG; tests decode it with sharp.
 */
import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE: Record<number, number> = { 1: 0, 2: 4, 3: 2, 4: 6 };

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)) >>> 0, 8 + data.length);
  return out;
}

/** Encode planar C-order pixels [C, H, W] as PNG, each pixel repeated `scale`×`scale`. */
export function encodePng(planar: Uint8Array, channels: number, height: number, width: number, scale = 1, level = 6): Buffer {
  const colorType = COLOR_TYPE[channels];
  if (colorType === undefined) throw new RangeError(`PNG cannot hold ${channels} channels`);
  const W = width * scale;
  const H = height * scale;
  const stride = 1 + W * channels;
  const raw = Buffer.alloc(H * stride); // filter byte 0 (None) starts each row
  const hw = height * width;
  for (let y = 0; y < height; y++) {
    const first = y * scale * stride;
    let o = first + 1;
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      for (let r = 0; r < scale; r++) for (let c = 0; c < channels; c++) raw[o++] = planar[c * hw + p];
    }
    // the other scale−1 rows of this pixel row are copies
    for (let r = 1; r < scale; r++) raw.copy(raw, first + r * stride, first, first + stride);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(W, 0);
  ihdr.writeUInt32BE(H, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colorType;
  // compression 0, filter 0, interlace 0
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level })), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * Image encoding: PNG with the small zlib encoder of ./png.ts (sharp's per-image set-up cost
 * dominates for images this small), WebP and JPEG with sharp (libvips). Model pixels are planar C-order [C, H, W]; sharp wants
 * interleaved [H, W, C]. 1-channel models encode as grayscale; `scale` is an integer
 * nearest-neighbour upscale for display (tiny 16×16 samples are otherwise unreadable).
 */
import sharp from 'sharp';
import type { ImageFormat } from '../enums.js';
import { encodePng } from './png.js';

/** [C, H, W] → [H, W, C]. */
export function interleave(planar: Uint8Array, channels: number, height: number, width: number): Uint8Array {
  if (channels === 1) return planar;
  const hw = height * width;
  const out = new Uint8Array(planar.length);
  for (let c = 0; c < channels; c++) {
    const base = c * hw;
    for (let p = 0; p < hw; p++) out[p * channels + c] = planar[base + p];
  }
  return out;
}

export async function encodeImage(
  planar: Uint8Array,
  image: { channels: number; height: number; width: number },
  format: ImageFormat,
  scale = 1,
): Promise<Buffer> {
  const { channels, height, width } = image;
  if (format === 'png') return encodePng(planar, channels, height, width, scale);
  let img = sharp(interleave(planar, channels, height, width), {
    raw: { width, height, channels: channels as 1 | 3 | 4 },
  });
  if (scale !== 1) img = img.resize(width * scale, height * scale, { kernel: 'nearest' });
  if (channels === 1) img = img.toColourspace('b-w');
  switch (format) {
    case 'webp':
      return img.webp({ lossless: true }).toBuffer();
    case 'jpeg':
      return img.jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer();
  }
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodeImage, interleave } from '../../src/images/encode.js';

test('interleave [C,H,W] → [H,W,C]', () => {
  // 2×1 image, 3 channels: R plane [1,2], G plane [3,4], B plane [5,6]
  assert.deepEqual(Array.from(interleave(Uint8Array.from([1, 2, 3, 4, 5, 6]), 3, 1, 2)), [1, 3, 5, 2, 4, 6]);
});

test('png round-trips pixels exactly, rgb and grayscale, with nearest-neighbour scale', async () => {
  const rgb = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
  const png = await encodeImage(rgb, { channels: 3, height: 2, width: 2 }, 'png');
  const back = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(back.info.channels, 3);
  assert.deepEqual(Array.from(back.data), Array.from(interleave(rgb, 3, 2, 2)));

  const gray = Uint8Array.from([0, 85, 170, 255]);
  const g = await encodeImage(gray, { channels: 1, height: 2, width: 2 }, 'png', 3);
  assert.equal((await sharp(g).metadata()).channels, 1); // a grayscale PNG
  const gb = await sharp(g).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.equal(gb.info.width, 6);
  assert.equal(gb.info.height, 6);
  assert.equal(gb.data[0], 0);
  assert.equal(gb.data[2], 0);
  assert.equal(gb.data[3], 85);
  assert.equal(gb.data[6 * 3 + 5], 255);
  assert.equal(gb.data[6 * 5 + 0], 170);
});

test('webp (lossless) and jpeg encode with the right signatures', async () => {
  const px = Uint8Array.from({ length: 3 * 8 * 8 }, (_, i) => (i * 7) & 255);
  const webp = await encodeImage(px, { channels: 3, height: 8, width: 8 }, 'webp');
  assert.equal(webp.subarray(8, 12).toString('ascii'), 'WEBP');
  const back = await sharp(webp).raw().toBuffer();
  assert.deepEqual(Array.from(back), Array.from(interleave(px, 3, 8, 8)));
  const jpg = await encodeImage(px.subarray(0, 64), { channels: 1, height: 8, width: 8 }, 'jpeg', 2);
  assert.equal(jpg[0], 0xff);
  assert.equal(jpg[1], 0xd8);
  const meta = await sharp(jpg).metadata();
  assert.equal(meta.width, 16);
  assert.equal(meta.channels, 1);
});

test('the PNG encoder decodes (via sharp) to exactly the pixels, every channel count and scale, stored and deflated', async () => {
  const { encodePng } = await import('../../src/images/png.js');
  for (const channels of [1, 3, 4]) {
    // scanlines of scale 1–5 stay under STORED_MAX_BYTES (stored), scale 14 goes over it (deflate)
    for (const scale of [1, 2, 5, 14]) {
      const [h, w] = [3, 5];
      const planar = Uint8Array.from({ length: channels * h * w }, (_, i) => (i * 37 + 11) & 255);
      const png = encodePng(planar, channels, h, w, scale);
      const meta = await sharp(png).metadata();
      assert.equal(meta.width, w * scale);
      assert.equal(meta.height, h * scale);
      assert.equal(meta.channels, channels);
      const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      const hw = h * w;
      for (let y = 0; y < h * scale; y++)
        for (let x = 0; x < w * scale; x++)
          for (let c = 0; c < channels; c++) {
            const want = planar[c * hw + Math.floor(y / scale) * w + Math.floor(x / scale)];
            const got = data[(y * w * scale + x) * (meta.channels === 1 ? 3 : channels) + c];
            if (got !== want) assert.fail(`ch${channels} s${scale} (${x},${y},${c}) ${got} != ${want}`);
          }
      assert.deepEqual(encodePng(planar, channels, h, w, scale), png, 'deterministic');
    }
  }
});

test('the stored zlib stream inflates to its input (one block, several, empty) with a valid Adler-32', async () => {
  const { zlibStored, STORED_MAX_BYTES, encodePng } = await import('../../src/images/png.js');
  const { inflateSync } = await import('node:zlib');
  for (const n of [0, 1, 5552 * 2 + 7, 65535, 65536, 140_000]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + (i >> 8)) & 255);
    const z = zlibStored(data);
    // inflateSync checks the header and the Adler-32 trailer: a wrong checksum throws
    assert.deepEqual(new Uint8Array(inflateSync(z)), data, `length ${n}`);
    assert.equal(z.length, 2 + 5 * Math.max(1, Math.ceil(n / 65535)) + n + 4);
  }
  // the choice follows the scanline bytes: a 16×16 gray image is stored (larger than deflated by a few bytes at most)
  const planar = Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 255);
  assert.ok(16 * 17 <= STORED_MAX_BYTES);
  const idat = (png: Buffer) => png.subarray(png.indexOf('IDAT') + 4);
  assert.equal(idat(encodePng(planar, 1, 16, 16))[1], 0x01, 'FLEVEL 0: stored');
  assert.notEqual(idat(encodePng(planar, 1, 16, 16, 8))[1], 0x01, 'upscaled: deflated');
});

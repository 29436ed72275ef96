/** PNG images → tensors, decoded by `fast-png` (pure JS, no native code). */
import { readFileSync } from "node:fs";
import { convertIndexedToRgb, decode, type DecodedPng } from "fast-png";
import type { Tensor } from "../tensor.js";
import { toTensor } from "./host.js";

export interface ReadImageOptions {
  /** `"float32"` (default): values scaled to [0, 1] by the bit depth's maximum. `"int32"`: raw values (0…255, or 0…65535 for 16-bit). */
  dtype?: "float32" | "int32";
}

/** Unpack 1/2/4-bit samples (rows padded to whole bytes) into one value per sample. */
function unpackBits(png: DecodedPng, samplesPerRow: number): Uint8Array {
  const depth = png.depth;
  const bytesPerRow = Math.ceil((samplesPerRow * depth) / 8);
  const out = new Uint8Array(samplesPerRow * png.height);
  const src = png.data as Uint8Array;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < samplesPerRow; x++) {
      const bit = x * depth;
      const byte = src[y * bytesPerRow + (bit >> 3)];
      out[y * samplesPerRow + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** Decode PNG bytes into [height, width, channels] values plus the maximum value of the depth. */
export function decodePngPixels(bytes: Uint8Array, source = "<buffer>"): { shape: [number, number, number]; values: ArrayLike<number>; max: number } {
  let png: DecodedPng;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new Error(`readImage: ${source}: not a valid PNG (${(e as Error).message}); only PNG files are supported`);
  }
  const { width, height } = png;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const channels = rgb.length / (width * height);
    return { shape: [height, width, channels], values: rgb, max: 255 };
  }
  const channels = png.channels;
  const expected = width * height * channels;
  let values: ArrayLike<number> = png.data;
  if (png.depth < 8) values = unpackBits(png, width * channels);
  if (values.length < expected) {
    throw new Error(`readImage: ${source}: truncated pixel data: ${values.length} values, expected ${height}×${width}×${channels} = ${expected}`);
  }
  return { shape: [height, width, channels], values, max: 2 ** png.depth - 1 };
}

/**
 * Read a PNG file into a Tensor of shape [height, width, channels] (channels 1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA; palette images become RGB/RGBA). float32 in [0, 1] by default.
 *
 * @example
 * const img = readImage("digit.png"); // float32 [28, 28, 1]
 */
export function readImage(path: string | Uint8Array, opts: ReadImageOptions = {}): Tensor {
  const source = typeof path === "string" ? path : "<buffer>";
  let bytes: Uint8Array;
  try {
    bytes = typeof path === "string" ? readFileSync(path) : path;
  } catch (e) {
    throw new Error(`readImage: cannot read ${source}: ${(e as Error).message}`);
  }
  const { shape, values, max } = decodePngPixels(bytes, source);
  const n = shape[0] * shape[1] * shape[2];
  if (opts.dtype === "int32") {
    const data = new Int32Array(n);
    for (let i = 0; i < n; i++) data[i] = values[i];
    return toTensor({ dtype: "int32", shape, data });
  }
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = values[i] / max;
  return toTensor({ dtype: "float32", shape, data });
}

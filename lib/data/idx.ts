/**
 * The IDX format (MNIST, Fashion-MNIST): a 4-byte magic `00 00 <type> <ndims>`, one big-endian
 * uint32 per dimension, then the values big-endian in row-major order. Files may be gzipped.
 * `parseIdx` is pure (bytes → typed array); `readIdx` reads a file or buffer and returns a Tensor.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { Tensor } from "../tensor.js";
import { HostArray, toTensor } from "./host.js";

/** Element types an IDX file can declare (type code 0x08 … 0x0E). */
export type IdxType = "uint8" | "int8" | "int16" | "int32" | "float32" | "float64";

const IDX_TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: "uint8", bytes: 1 },
  0x09: { type: "int8", bytes: 1 },
  0x0b: { type: "int16", bytes: 2 },
  0x0c: { type: "int32", bytes: 4 },
  0x0d: { type: "float32", bytes: 4 },
  0x0e: { type: "float64", bytes: 8 },
};

/** A decoded IDX array: `values` is row-major; uint8 data is a view on the input bytes (no copy). */
export interface IdxArray {
  type: IdxType;
  shape: number[];
  values: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** The fixed part of an IDX file: what it holds and where its data starts. */
export interface IdxHeader {
  type: IdxType;
  shape: number[];
  bytesPerValue: number;
  /** Byte offset of the first value (4 + 4 × ndims). */
  dataOffset: number;
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompress gzip bytes, naming the file when the stream is corrupt or cut short. */
export function gunzipNamed(bytes: Uint8Array, source: string, op: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new Error(
      `${op}: ${source}: corrupt or truncated gzip data (${(e as Error).message}); ` +
        `expected a complete .gz file (${bytes.length} bytes read). Delete the file and fetch it again.`,
    );
  }
}

/** Parse an IDX header; `source` names the file in errors. Throws on a bad magic or a short header. */
export function parseIdxHeader(bytes: Uint8Array, source = "<buffer>"): IdxHeader {
  if (bytes.length < 4) {
    throw new Error(`readIdx: ${source}: truncated header: ${bytes.length} bytes, expected at least 4 (magic number)`);
  }
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const kind = IDX_TYPES[bytes[2]];
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || !kind || ndims === 0) {
    const hex = "0x" + magic.toString(16).padStart(8, "0");
    const hint = isGzip(bytes) ? " (this is gzip data: pass the whole .gz file so it is decompressed first)" : "";
    throw new Error(
      `readIdx: ${source}: bad magic number ${hex} at offset 0; expected 0x0000 then a type code ` +
        `(08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64) and a dimension count ≥ 1${hint}`,
    );
  }
  const dataOffset = 4 + 4 * ndims;
  if (bytes.length < dataOffset) {
    throw new Error(
      `readIdx: ${source}: truncated header: ${bytes.length} bytes, expected ${dataOffset} (magic + ${ndims} dimension sizes)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  return { type: kind.type, shape, bytesPerValue: kind.bytes, dataOffset };
}

/** Decode complete IDX bytes (already decompressed). Checks that the data length matches the header exactly. */
export function parseIdx(bytes: Uint8Array, source = "<buffer>"): IdxArray {
  const header = parseIdxHeader(bytes, source);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = header.dataOffset + count * header.bytesPerValue;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? "truncated" : "has trailing bytes";
    throw new Error(
      `readIdx: ${source}: ${what}: header says ${header.type} [${header.shape.join(", ")}] = ` +
        `${expected - header.dataOffset} data bytes after the ${header.dataOffset}-byte header ` +
        `(file should be ${expected} bytes), found ${bytes.length} bytes; data ends at offset ${bytes.length}`,
    );
  }
  return { type: header.type, shape: header.shape, values: decodeValues(bytes, header, count) };
}

/** Turn `count` big-endian values starting at `header.dataOffset` into a native typed array. */
export function decodeValues(bytes: Uint8Array, header: IdxHeader, count: number, offset = header.dataOffset): IdxArray["values"] {
  const start = bytes.byteOffset + offset;
  switch (header.type) {
    case "uint8":
      return new Uint8Array(bytes.buffer, start, count);
    case "int8":
      return new Int8Array(bytes.buffer, start, count);
    default: {
      // Multi-byte values are big-endian; DataView reads them portably.
      const view = new DataView(bytes.buffer, start, count * header.bytesPerValue);
      if (header.type === "int16") {
        const out = new Int16Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, false);
        return out;
      }
      if (header.type === "int32") {
        const out = new Int32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, false);
        return out;
      }
      if (header.type === "float32") {
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, false);
        return out;
      }
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, false);
      return out;
    }
  }
}

/** Read IDX bytes from a path or buffer, decompressing gzip (detected by its magic, not the name). */
export function readIdxArray(source: string | Uint8Array): IdxArray {
  const name = typeof source === "string" ? source : "<buffer>";
  let bytes: Uint8Array;
  if (typeof source === "string") {
    try {
      bytes = readFileSync(source);
    } catch (e) {
      throw new Error(`readIdx: cannot read ${source}: ${(e as Error).message}`);
    }
  } else {
    bytes = source;
  }
  if (isGzip(bytes)) bytes = gunzipNamed(bytes, name, "readIdx");
  return parseIdx(bytes, name);
}

/** Convert IDX values to the dtypes tensors support: integers → int32, floats → float32. */
export function idxToHost(arr: IdxArray): HostArray {
  const isFloatType = arr.type === "float32" || arr.type === "float64";
  if (isFloatType) {
    return { dtype: "float32", shape: arr.shape, data: arr.values instanceof Float32Array ? arr.values : Float32Array.from(arr.values) };
  }
  return { dtype: "int32", shape: arr.shape, data: arr.values instanceof Int32Array ? arr.values : Int32Array.from(arr.values) };
}

/**
 * Read an IDX file (raw or gzipped) or buffer into a Tensor with the file's shape.
 * Integer types (uint8, int8, int16, int32) give an int32 tensor, float types float32.
 *
 * @example
 * const labels = readIdx("t10k-labels-idx1-ubyte.gz"); // int32 [10000]
 */
export function readIdx(source: string | Uint8Array): Tensor {
  return toTensor(idxToHost(readIdxArray(source)));
}

/** Encode an array as IDX bytes (used to write test fixtures and to export data). */
export function encodeIdx(type: IdxType, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const code = Number(Object.keys(IDX_TYPES).find((k) => IDX_TYPES[Number(k)].type === type));
  const bytesPer = IDX_TYPES[code].bytes;
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new Error(`encodeIdx: ${values.length} values for shape [${shape.join(", ")}] (expected ${count})`);
  }
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + count * bytesPer);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < count; i++) {
    const at = header + i * bytesPer;
    const v = values[i];
    switch (type) {
      case "uint8": view.setUint8(at, v); break;
      case "int8": view.setInt8(at, v); break;
      case "int16": view.setInt16(at, v, false); break;
      case "int32": view.setInt32(at, v, false); break;
      case "float32": view.setFloat32(at, v, false); break;
      case "float64": view.setFloat64(at, v, false); break;
    }
  }
  return out;
}

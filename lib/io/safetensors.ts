/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`
 * (padded with spaces to a multiple of 8), then the raw little-endian data. Readable by Python's
 * `safetensors`, and every offset is checked on read so a truncated or edited file is refused.
 */

export type SafetensorsDType = "F32" | "I32" | "U8" | "F64";
const BYTES: Record<SafetensorsDType, number> = { F32: 4, I32: 4, U8: 1, F64: 8 };

export interface NamedArray {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array | Float64Array;
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Serializes named arrays (written in insertion order) with optional string metadata. */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  if (!littleEndian) throw new Error("encodeSafetensors: big-endian hosts are not supported");
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`encodeSafetensors: '${name}' has shape [${t.shape.join(", ")}] (${n} values) but ${t.data.length} values`);
    const bytes = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hbytes = enc.encode(json);
  const pad = (8 - (hbytes.length % 8)) % 8;
  if (pad) {
    json += " ".repeat(pad);
    hbytes = enc.encode(json);
  }
  const out = new Uint8Array(8 + hbytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const t of tensors.values()) {
    const b = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}

/** Parses and validates a safetensors file; `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = "safetensors data"): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error(`${source}: not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length (truncated?)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8) throw new Error(`${source}: header length ${n} runs past the end of the file (${bytes.length} bytes): the file is truncated or not safetensors`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${source}: the header is not valid JSON (${(e as Error).message}): the file is damaged or not safetensors`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) throw new Error(`${source}: the header is not a JSON object`);
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries: [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const e = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!e || typeof e !== "object" || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new Error(`${source}: tensor '${name}' has a malformed header entry ${JSON.stringify(v)}`);
    }
    if (!(e.dtype in BYTES)) throw new Error(`${source}: tensor '${name}' has dtype ${e.dtype}; supported: ${Object.keys(BYTES).join(", ")}`);
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${source}: tensor '${name}' has an invalid shape ${JSON.stringify(e.shape)}`);
    entries.push([name, e]);
  }
  // Tensors must tile the data section exactly (the format's own validity rule).
  entries.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
  let expect = 0;
  const tensors = new Map<string, NamedArray>();
  for (const [name, e] of entries) {
    const [begin, end] = e.data_offsets;
    const size = e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype as SafetensorsDType];
    if (begin !== expect) throw new Error(`${source}: tensor '${name}' starts at byte ${begin} of the data, expected ${expect} (gap or overlap): the file is damaged`);
    if (end - begin !== size) throw new Error(`${source}: tensor '${name}' (${e.dtype} [${e.shape.join(", ")}]) needs ${size} bytes but its offsets span ${end - begin}`);
    if (end > dataLen) throw new Error(`${source}: tensor '${name}' ends at data byte ${end} but the file holds only ${dataLen} data bytes: the file is truncated`);
    expect = end;
    // A fresh copy (Node Buffers' slice is a view): aligned, independent of the file buffer.
    const raw = new Uint8Array(end - begin);
    raw.set(bytes.subarray(dataStart + begin, dataStart + end));
    const dtype = e.dtype as SafetensorsDType;
    const data = dtype === "F32" ? new Float32Array(raw.buffer) : dtype === "I32" ? new Int32Array(raw.buffer) : dtype === "F64" ? new Float64Array(raw.buffer) : raw;
    tensors.set(name, { dtype, shape: e.shape, data });
  }
  if (expect !== dataLen) throw new Error(`${source}: ${dataLen - expect} bytes after the last tensor: the file is damaged or was appended to`);
  // Keep the writer's order (by offset) for callers that care.
  return { tensors, metadata };
}

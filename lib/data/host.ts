/**
 * Host-side arrays: the data layer parses and batches plain typed arrays and turns them into
 * Tensors only at the edge (one upload per batch, not per sample).
 */
import type { Tensor } from "../tensor.js";
import type { DType, TypedArray } from "../dtype.js";
import type { Backend, Buf } from "../backend/backend.js";
import { currentBackend } from "../backend/registry.js";
import { fromBuf } from "../ops/core.js";

/** Element types the data layer produces (the tensor dtypes it uses). */
export type HostDType = "float32" | "int32";

/** A row-major array on the host: what a Tensor will hold, before it is created. */
export interface HostArray {
  dtype: HostDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Number of elements of a shape. */
export function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Create a Tensor holding a host array. The array must not be used afterwards: a backend with
 * `adopt` keeps it as the tensor's storage.
 */
export function toTensor(h: HostArray, on?: Backend): Tensor {
  if (h.data.length !== sizeOfShape(h.shape)) {
    throw new Error(`data: ${h.data.length} values do not fill shape [${h.shape.join(", ")}]`);
  }
  // Straight to the backend: `tensor()` would make one more full copy (costly for 188 MB of MNIST).
  // A backend that can take ownership of a fresh array (`adopt`) avoids even the upload copy.
  const backend = (on ?? currentBackend()) as Backend & { adopt?: (data: TypedArray, dtype: DType) => Buf };
  const whole = h.data.byteOffset === 0 && h.data.byteLength === h.data.buffer.byteLength;
  const buf = backend.adopt && whole ? backend.adopt(h.data, h.dtype) : backend.upload(h.data, h.dtype);
  return fromBuf(backend, buf, [...h.shape], h.dtype);
}

/** Read a Tensor back into a host array (float64/bool become float32/int32). */
export async function fromTensor(t: Tensor): Promise<HostArray> {
  const data = await t.data();
  return asHost(data, t.shape, t.dtype);
}

/** Coerce typed data of a tensor dtype into a HostArray without copying when it already fits. */
export function asHost(data: ArrayLike<number>, shape: readonly number[], dtype: DType): HostArray {
  if (dtype === "float32" || dtype === "float64") {
    return { dtype: "float32", shape: [...shape], data: data instanceof Float32Array ? data : Float32Array.from(data) };
  }
  return { dtype: "int32", shape: [...shape], data: data instanceof Int32Array ? data : Int32Array.from(data) };
}

/** True for a Tensor instance (checked by shape, so two copies of the library still interoperate). */
export function isTensor(v: unknown): v is Tensor {
  return !!v && typeof v === "object" && typeof (v as Tensor).data === "function" && Array.isArray((v as Tensor).shape);
}

/** Plumbing shared by every op: making result tensors, scalars, backend checks and gradient recording. */
import type { Backend, Buf } from "../backend/backend.js";
import { currentBackend } from "../backend/registry.js";
import { coerce, type DType } from "../dtype.js";
import { fmt, sizeOf, type Shape } from "../shape.js";
import { Storage, Tensor, type GradNode, type TensorLike } from "../tensor.js";
import { isGradEnabled } from "../autograd/mode.js";

/** A new contiguous tensor owning a freshly produced backend buffer. */
export function fromBuf(backend: Backend, buf: Buf, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new Storage(backend, buf, dtype, sizeOf(shape)), shape, dtype);
}

/** A tensor sharing `t`'s storage with another shape/strides (a view). */
export function viewOf(t: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(t.storage("view").retain(), shape, t.dtype, strides, offset);
}

/** The backend all `ts` live on; a clear error when they differ. */
export function backendOf(op: string, ...ts: Tensor[]): Backend {
  const b = ts[0].storage(op).backend;
  for (const t of ts) {
    const tb = t.storage(op).backend;
    if (tb !== b) {
      throw new Error(`${op}: tensors are on different backends (${b.name} and ${tb.name}); move one explicitly with 'await t.to("${b.name}")'`);
    }
  }
  return b;
}

/** dtype a JS scalar takes next to a tensor of dtype `like`. */
function scalarDType(v: number | boolean, like: DType | undefined): DType {
  if (typeof v === "boolean") return like ?? "bool";
  if (like === "float32" || like === "float64") return like;
  return Number.isInteger(v) ? (like === "bool" ? "int32" : like ?? "float32") : "float32";
}

/** Turns a scalar into a 0-d tensor on `backend`; tensors pass through. */
export function asTensor(x: TensorLike, op: string, like?: Tensor, backend?: Backend): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x !== "number" && typeof x !== "boolean") {
    throw new TypeError(`${op}: expected a Tensor or a number, got ${x === null ? "null" : typeof x}${Array.isArray(x) ? " (an array: wrap it with tensor([...]))" : ""}`);
  }
  const dtype = scalarDType(x, like?.dtype);
  const b = backend ?? (like ? like.storage(op).backend : currentBackend());
  return fromBuf(b, b.fill(1, dtype, coerce(x, dtype)), [], dtype);
}

/** Attaches a gradient rule to `out` when recording is on and an input needs a gradient. */
export function record(out: Tensor, op: string, inputs: Tensor[], backward: GradNode["backward"]): Tensor {
  if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
    out._node = { op, inputs, backward };
    out.requiresGrad = true;
  }
  return out;
}

export function checkFloat(op: string, t: Tensor): void {
  if (t.dtype !== "float32" && t.dtype !== "float64") {
    throw new TypeError(`${op}: expects a float tensor, got ${t.dtype} with shape ${fmt(t.shape)}; cast it with t.cast("float32")`);
  }
}

/** Index arithmetic for strided views on the CPU. */
import { sizeOf } from "../../shape.js";

/** Flat source index of every element of a strided view, in row-major order of `shape`. */
export function viewIndices(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  if (nd === 0) {
    out[0] = offset;
    return out;
  }
  const ctr = new Array<number>(nd).fill(0);
  const last = nd - 1, sl = strides[last], dl = shape[last];
  let idx = offset;
  for (let i = 0; i < n; ) {
    for (let j = 0; j < dl; j++) out[i++] = idx + j * sl;
    for (let d = nd - 2; d >= 0; d--) {
      ctr[d]++;
      idx += strides[d];
      if (ctr[d] < shape[d]) break;
      idx -= strides[d] * shape[d];
      ctr[d] = 0;
    }
  }
  return out;
}

/** True when the view reads elements offset..offset+size-1 in order. */
export function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i];
  }
  return true;
}

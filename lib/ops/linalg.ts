/** matmul (batched, broadcast over batch dims, NumPy 1-D rules), dot and outer. */
import { arithmeticDType } from "../dtype.js";
import { broadcastShapes, fmt, sizeOf } from "../shape.js";
import { Tensor } from "../tensor.js";
import { backendOf, fromBuf, record } from "./core.js";
import { cast, mul, unbroadcast } from "./elementwise.js";
import { broadcastTo, contiguousBase, reshape, transpose } from "./movement.js";
import { sum } from "./reduce.js";

/** Swaps the last two axes. */
export function mT(t: Tensor): Tensor {
  const p = t.shape.map((_, i) => i);
  [p[t.ndim - 2], p[t.ndim - 1]] = [p[t.ndim - 1], p[t.ndim - 2]];
  return transpose(t, p);
}

/** Describes how a batch of matrices sits in memory: contiguous, or a transposed contiguous matrix. */
function operand(t: Tensor, batch: number[]): { base: Tensor; trans: boolean; batchStride: number } {
  const r = t.shape[t.ndim - 2], c = t.shape[t.ndim - 1];
  const tBatch = t.shape.slice(0, -2);
  const single = sizeOf(tBatch) === 1;
  if (!single && (tBatch.length !== batch.length || tBatch.some((d, i) => d !== batch[i]))) {
    // Broadcast batch dims of different layouts: materialize the broadcast.
    const full = contiguousBase(broadcastTo(t, [...batch, r, c]));
    return { base: full, trans: false, batchStride: r * c };
  }
  const s = t.strides;
  // A transposed 2-D matrix (strides [1, r]) from offset 0 is read with trans=true, no copy.
  if (single && t._offset === 0 && s[t.ndim - 1] === r && s[t.ndim - 2] === 1 && r > 1 && c > 1) {
    return { base: t, trans: true, batchStride: 0 };
  }
  const base = contiguousBase(t);
  return { base, trans: false, batchStride: single ? 0 : r * c };
}

/** Matrix product with NumPy semantics: 1-D operands are promoted and the added axis removed. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: operands must have at least one dimension, got ${fmt(a.shape)} @ ${fmt(b.shape)}; use mul for scalars`);
  if (a.ndim === 1 || b.ndim === 1) {
    const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
    const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
    const y = matmul(a2, b2);
    const shape = y.shape.filter((_, i) => !((a.ndim === 1 && i === y.ndim - 2) || (b.ndim === 1 && i === y.ndim - 1)));
    return reshape(y, shape);
  }
  const m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1], k2 = b.shape[b.ndim - 2], n = b.shape[b.ndim - 1];
  if (k !== k2) throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} ≠ ${k2})`);
  const batch = broadcastShapes("matmul (batch dims)", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const backend = backendOf("matmul", a, b);
  const dtype = arithmeticDType(a.dtype, b.dtype);
  const ac = a.dtype === dtype ? a : cast(a, dtype);
  const bc = b.dtype === dtype ? b : cast(b, dtype);
  const A = operand(ac, batch), B = operand(bc, batch);
  const nb = sizeOf(batch);
  const buf = backend.matmul(A.base.storage("matmul").buf!, B.base.storage("matmul").buf!, dtype, {
    batch: nb, m, k, n, aBatchStride: A.batchStride, bBatchStride: B.batchStride, transA: A.trans, transB: B.trans,
  });
  if (A.base !== ac) A.base.dispose();
  if (B.base !== bc) B.base.dispose();
  const y = fromBuf(backend, buf, [...batch, m, n], dtype);
  return record(y, "matmul", [ac, bc], (g) => [
    ac.requiresGrad ? unbroadcast(matmul(g, mT(bc)), ac.shape) : null,
    bc.requiresGrad ? unbroadcast(matmul(mT(ac), g), bc.shape) : null,
  ]);
}

/** Inner product of two vectors; matmul otherwise. */
export function dot(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) throw new Error(`dot: vectors of different lengths ${fmt(a.shape)} · ${fmt(b.shape)}`);
    return sum(mul(a, b));
  }
  return matmul(a, b);
}

/** Outer product of two vectors: [n] ⊗ [m] → [n, m]. */
export function outer(a: Tensor, b: Tensor): Tensor {
  if (a.ndim !== 1 || b.ndim !== 1) throw new Error(`outer: expects two vectors, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
  return mul(reshape(a, [a.shape[0], 1]), reshape(b, [1, b.shape[0]]));
}

/** matmul (batched, broadcast over batch dims, NumPy 1-D rules), dot and outer. */
import type { Buf } from "../backend/backend.js";
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

/** NumPy's 1-D rule: a vector operand becomes a 1-row (a) or 1-column (b) matrix, and that axis is removed again. */
function viaMatrices(a: Tensor, b: Tensor, product: (a: Tensor, b: Tensor) => Tensor): Tensor {
  const a2 = a.ndim === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const y = product(a2, b2);
  const shape = y.shape.filter((_, i) => !((a.ndim === 1 && i === y.ndim - 2) || (b.ndim === 1 && i === y.ndim - 1)));
  return reshape(y, shape);
}

/** Matrix product with NumPy semantics: 1-D operands are promoted and the added axis removed; batch dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: operands must have at least one dimension, got ${fmt(a.shape)} @ ${fmt(b.shape)}; use mul for scalars`);
  if (a.ndim === 1 || b.ndim === 1) return viaMatrices(a, b, matmul);
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

/** Which matmul a layer uses: "float32", or "float16" for matmulHalf. */
export type MatmulPrecision = "float32" | "float16";

/**
 * matmul with both operands rounded to float16 (IEEE binary16, round to nearest even, ±Inf from 65520 on)
 * and the products accumulated in float32: float32 operands only, float32 result, shapes as matmul
 * (1-D promotion, broadcast batch dims). On webgpu the operands are read as float16 (half the bytes;
 * array<f16> with the `shader-f16` feature); on the cpu it is the float32 matmul of the rounded operands.
 * The gradient is straight-through, as mixed-precision training does: the float32 matmul's gradient at the
 * rounded operands (dA = g·round(B)ᵀ, dB = round(A)ᵀ·g, with g kept float32).
 */
export function matmulHalf(a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new TypeError(`matmulHalf: operands must be float32, got ${a.dtype} ${fmt(a.shape)} @ ${b.dtype} ${fmt(b.shape)}; cast them with t.cast("float32")`);
  }
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmulHalf: operands must have at least one dimension, got ${fmt(a.shape)} @ ${fmt(b.shape)}; use mul for scalars`);
  if (a.ndim === 1 || b.ndim === 1) return viaMatrices(a, b, matmulHalf);
  const k = a.shape[a.ndim - 1], k2 = b.shape[b.ndim - 2];
  if (k !== k2) throw new Error(`matmulHalf: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)} (${k} ≠ ${k2})`);
  return matmulRounded(a, b, { a: true, b: true });
}

/**
 * float32 matmul of at-least-2-D float32 operands where those flagged in `half` are rounded to float16 first
 * (backend packHalf + matmulHalf). Its gradient is the float32 matmul's at the rounded operands, built from
 * the same function so that g stays float32 and only the operand that was rounded is rounded again.
 */
function matmulRounded(a: Tensor, b: Tensor, half: { a: boolean; b: boolean }): Tensor {
  if (!half.a && !half.b) return matmul(a, b);
  const m = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1], n = b.shape[b.ndim - 1];
  const batch = broadcastShapes("matmulHalf (batch dims)", a.shape.slice(0, -2), b.shape.slice(0, -2));
  const backend = backendOf("matmulHalf", a, b);
  if (!backend.packHalf || !backend.matmulHalf) {
    throw new Error(`matmulHalf: the ${backend.name} backend has no float16 matmul (packHalf/matmulHalf) for ${fmt(a.shape)} @ ${fmt(b.shape)}; use matmul there`);
  }
  const A = operand(a, batch), B = operand(b, batch);
  let aIn: Buf | null = null, bIn: Buf | null = null, buf: Buf;
  try { // a refused size must not leak the packed copies
    const aBuf = A.base.storage("matmulHalf").buf!, bBuf = B.base.storage("matmulHalf").buf!;
    aIn = half.a ? backend.packHalf(aBuf, A.base.size) : null;
    bIn = half.b ? backend.packHalf(bBuf, B.base.size) : null;
    buf = backend.matmulHalf(aIn ?? aBuf, bIn ?? bBuf, {
      batch: sizeOf(batch), m, k, n, aBatchStride: A.batchStride, bBatchStride: B.batchStride, transA: A.trans, transB: B.trans,
    }, half);
  } finally {
    if (aIn) backend.free(aIn);
    if (bIn) backend.free(bIn);
    if (A.base !== a) A.base.dispose();
    if (B.base !== b) B.base.dispose();
  }
  const y = fromBuf(backend, buf, [...batch, m, n], "float32");
  return record(y, "matmulHalf", [a, b], (g) => [
    a.requiresGrad ? unbroadcast(matmulRounded(g, mT(b), { a: false, b: half.b }), a.shape) : null,
    b.requiresGrad ? unbroadcast(matmulRounded(mT(a), g, { a: half.a, b: false }), b.shape) : null,
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

/**
 * The strided elementwise loops (lib/backend/cpu/elementwise.ts) against a per-element reference
 * that walks every index of the shape: broadcasts (stride 0), transposes, offsets, size-1 and 0-d shapes.
 * Results must be identical (same float64 math, same stores).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { binaryStrided, mergeDims, unaryStrided, type StridedLayout } from "../lib/backend/cpu/elementwise.js";
import type { BinaryOp, UnaryOp } from "../lib/backend/backend.js";

let seed = 7;
const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 4;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Flat source index of element i (row-major over shape) of a strided layout. */
function sourceIndex(l: StridedLayout, i: number): number {
  let idx = l.offset;
  for (let d = l.shape.length - 1; d >= 0; d--) {
    idx += (i % l.shape[d]) * l.strides[d];
    i = Math.floor(i / l.shape[d]);
  }
  return idx;
}

const contiguous = (shape: number[]) => shape.map((_, d) => sizeOf(shape.slice(d + 1)));

/** Layouts that all have `shape`: dense, broadcast along some axes, transposed, offset. */
function layouts(shape: number[]): { name: string; layout: StridedLayout; length: number }[] {
  const dense = contiguous(shape);
  const out = [{ name: "dense", layout: { shape, strides: dense, offset: 0 }, length: sizeOf(shape) }];
  out.push({ name: "offset 3", layout: { shape, strides: dense, offset: 3 }, length: sizeOf(shape) + 3 });
  out.push({ name: "scalar broadcast", layout: { shape, strides: shape.map(() => 0), offset: 1 }, length: 2 });
  if (shape.length >= 2) {
    // Broadcast along axis 0 (a bias row), along the last axis (a column), and a reversed-axes transpose.
    const rowShape = shape.slice(1);
    out.push({ name: "row broadcast", layout: { shape, strides: [0, ...contiguous(rowShape)], offset: 0 }, length: sizeOf(rowShape) });
    const colStrides = contiguous(shape.slice(0, -1));
    out.push({ name: "column broadcast", layout: { shape, strides: [...colStrides, 0], offset: 0 }, length: sizeOf(shape.slice(0, -1)) });
    const rev = [...shape].reverse();
    const revStrides = contiguous(rev).reverse();
    out.push({ name: "transposed", layout: { shape, strides: revStrides, offset: 0 }, length: sizeOf(shape) });
  }
  return out;
}

const BINARY_REF: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b,
  gt: (a, b) => (a > b ? 1 : 0), ge: (a, b) => (a >= b ? 1 : 0), lt: (a, b) => (a < b ? 1 : 0), le: (a, b) => (a <= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0), ne: (a, b) => (a !== b ? 1 : 0), pow: Math.pow,
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b),
};

const SHAPES = [[], [1], [7], [3, 5], [1, 4], [4, 1], [2, 3, 4], [2, 1, 3, 5], [0, 3]];

test("binaryStrided equals the per-element reference for every op and layout pair", () => {
  for (const shape of SHAPES)
    for (const la of layouts(shape))
      for (const lb of layouts(shape))
        for (const [op, f] of Object.entries(BINARY_REF)) {
          // Small integers make eq/ne and ties meaningful.
          const A = Float32Array.from({ length: la.length }, () => Math.round(random()));
          const B = Float32Array.from({ length: lb.length }, () => Math.round(random()) || 1);
          const out = new Float32Array(sizeOf(shape)).fill(NaN);
          binaryStrided(op as BinaryOp, A, la.layout, B, lb.layout, out, f);
          for (let i = 0; i < out.length; i++) {
            const want = Math.fround(f(A[sourceIndex(la.layout, i)], B[sourceIndex(lb.layout, i)]));
            if (!Object.is(out[i], want)) {
              assert.unreachable(`${op} shape ${JSON.stringify(shape)} a ${la.name} b ${lb.name}: element ${i} is ${out[i]}, want ${want}`);
            }
          }
        }
});

const UNARY_REF: Record<string, (v: number) => number> = {
  relu: (v) => (v > 0 ? v : v === v ? 0 : NaN), neg: (v) => -v, square: (v) => v * v, sqrt: Math.sqrt, exp: Math.exp,
  log: Math.log, abs: Math.abs, tanh: Math.tanh, reciprocal: (v) => 1 / v, sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

test("unaryStrided equals the per-element reference (relu keeps NaN, maps -0 and negatives to +0)", () => {
  for (const shape of SHAPES)
    for (const l of layouts(shape))
      for (const [op, f] of Object.entries(UNARY_REF)) {
        const X = Float32Array.from({ length: l.length }, (_, i) => (i === 2 ? NaN : i === 1 ? -0 : random()));
        const out = new Float32Array(sizeOf(shape)).fill(12345);
        unaryStrided(op as UnaryOp, X, l.layout, out, 0, (v) => f(v));
        for (let i = 0; i < out.length; i++) {
          const want = Math.fround(f(X[sourceIndex(l.layout, i)]));
          if (!Object.is(out[i], want) && !(op === "relu" && want === 0 && out[i] === 0)) {
            assert.unreachable(`${op} shape ${JSON.stringify(shape)} ${l.name}: element ${i} is ${out[i]}, want ${want}`);
          }
        }
      }
});

test("mergeDims collapses contiguous runs and drops size-1 axes", () => {
  assert.equal(mergeDims([2, 3, 4], [[12, 4, 1], [12, 4, 1]]), { shape: [24], strides: [[1], [1]] });
  // A row broadcast keeps the batch axis apart from the row.
  assert.equal(mergeDims([2, 3, 4], [[12, 4, 1], [0, 4, 1]]), { shape: [2, 12], strides: [[12, 1], [0, 1]] });
  assert.equal(mergeDims([1, 5, 1], [[5, 1, 1]]), { shape: [5], strides: [[1]] });
  assert.equal(mergeDims([], [[]]), { shape: [1], strides: [[0]] });
});

test.run();

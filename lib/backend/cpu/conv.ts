/**
 * CPU convolution and pooling kernels (NHWC, filters [kh, kw, cin, cout]).
 * float32 convolutions run as im2col + the WASM GEMM (gemm-f32.ts), in chunks of output rows so the
 * patch matrix stays small; float64 (gradcheck) uses the direct loops at the end of this file.
 */
import type { Conv2dParams, Pool2dParams } from "../backend.js";
import { gemmF32, gemmRuntime } from "./gemm-f32.js";

type Arr = Float32Array | Float64Array;

// Patch-matrix budget per chunk (floats): 4 Mi floats = 16 MiB of WASM heap, big enough that GEMMs stay efficient.
const COLS_BUDGET = 4 * 1024 * 1024;

/** A 1×1, stride-1, unpadded convolution is a plain matmul over the input itself. */
function isPointwise(p: Conv2dParams): boolean {
  return p.kh === 1 && p.kw === 1 && p.strideH === 1 && p.strideW === 1 && p.padTop === 0 && p.padLeft === 0 && p.oh === p.h && p.ow === p.w;
}

/** Output rows (flattened n·oh·ow positions) per chunk. */
function chunkRows(p: Conv2dParams): number {
  const K = p.kh * p.kw * p.cin;
  return Math.max(1, Math.min(p.n * p.oh * p.ow, Math.floor(COLS_BUDGET / K)));
}

/** Patch rows [r0, r0+rows) of x into cols[at...] as [rows, kh·kw·cin]; out-of-image taps are zeros. */
function im2col(x: Float32Array, cols: Float32Array, at: number, p: Conv2dParams, r0: number, rows: number): void {
  const { h, w: W, cin, kh, kw, oh, ow, strideH, strideW, dilationH, dilationW, padTop, padLeft } = p;
  let b = Math.floor(r0 / (oh * ow)), oy = Math.floor((r0 % (oh * ow)) / ow), ox = r0 % ow;
  let d = at;
  const tapRow = kw * cin;
  for (let r = 0; r < rows; r++) {
    const ix0 = ox * strideW - padLeft;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * strideH + ky * dilationH - padTop;
      if (iy < 0 || iy >= h) {
        cols.fill(0, d, d + tapRow);
        d += tapRow;
        continue;
      }
      const rowBase = (b * h + iy) * W;
      if (dilationW === 1) {
        // Undilated taps along x are one contiguous run of the input row, clipped at the borders.
        const kxStart = Math.max(0, -ix0), kxEnd = Math.min(kw, W - ix0);
        for (let i = 0; i < kxStart * cin; i++) cols[d++] = 0;
        const s = (rowBase + ix0 + kxStart) * cin, len = Math.max(0, kxEnd - kxStart) * cin;
        for (let i = 0; i < len; i++) cols[d + i] = x[s + i];
        d += len;
        for (let i = Math.max(kxEnd, kxStart) * cin; i < tapRow; i++) cols[d++] = 0;
        continue;
      }
      for (let kx = 0; kx < kw; kx++) {
        const ix = ix0 + kx * dilationW;
        if (ix < 0 || ix >= W) {
          for (let c = 0; c < cin; c++) cols[d++] = 0;
          continue;
        }
        const s = (rowBase + ix) * cin;
        for (let c = 0; c < cin; c++) cols[d++] = x[s + c];
      }
    }
    if (++ox === ow) { ox = 0; if (++oy === oh) { oy = 0; b++; } }
  }
}

/** Adjoint of im2col: adds patch rows (row stride ld in cols) back into dx. */
function col2im(cols: Float32Array, at: number, ld: number, dx: Float32Array, p: Conv2dParams, r0: number, rows: number): void {
  const { h, w: W, cin, kh, kw, oh, ow, strideH, strideW, dilationH, dilationW, padTop, padLeft } = p;
  let b = Math.floor(r0 / (oh * ow)), oy = Math.floor((r0 % (oh * ow)) / ow), ox = r0 % ow;
  for (let r = 0; r < rows; r++) {
    let s = at + r * ld;
    for (let ky = 0; ky < kh; ky++) {
      const iy = oy * strideH + ky * dilationH - padTop;
      const rowInside = iy >= 0 && iy < h;
      const rowBase = (b * h + iy) * W;
      for (let kx = 0; kx < kw; kx++, s += cin) {
        const ix = ox * strideW + kx * dilationW - padLeft;
        if (!rowInside || ix < 0 || ix >= W) continue;
        const d = (rowBase + ix) * cin;
        for (let c = 0; c < cin; c++) dx[d + c] += cols[s + c];
      }
    }
    if (++ox === ow) { ox = 0; if (++oy === oh) { oy = 0; b++; } }
  }
}

/** out [n, oh, ow, cout] = conv2d(x [n, h, w, cin], w [kh, kw, cin, cout]): im2col rows (written straight into the GEMM heap) · w. */
export function conv2dCpu(x: Arr, w: Arr, out: Arr, p: Conv2dParams): void {
  if (!(x instanceof Float32Array && w instanceof Float32Array && out instanceof Float32Array)) return conv2dLoops(x, w, out, p);
  const K = p.kh * p.kw * p.cin, M = p.n * p.oh * p.ow;
  const W = { data: w, offset: 0, rowStride: p.cout, colStride: 1 };
  if (isPointwise(p)) return gemmF32({ data: x, offset: 0, rowStride: K, colStride: 1 }, W, M, K, p.cout, { out, offset: 0 });
  const chunk = chunkRows(p);
  for (let r0 = 0; r0 < M; r0 += chunk) {
    const rows = Math.min(chunk, M - r0);
    gemmF32((heap, at) => im2col(x, heap, at, p, r0, rows), W, rows, K, p.cout, { out, offset: r0 * p.cout });
  }
}

/** out [n, h, w, cin] = gradient of conv2d with respect to its input: col2im(dy · wᵀ). */
export function conv2dGradInputCpu(dy: Arr, w: Arr, out: Arr, p: Conv2dParams): void {
  if (!(dy instanceof Float32Array && w instanceof Float32Array && out instanceof Float32Array)) return conv2dGradInputLoops(dy, w, out, p);
  const K = p.kh * p.kw * p.cin, M = p.n * p.oh * p.ow;
  // w read as [cout, K] through swapped strides.
  const Wt = { data: w, offset: 0, rowStride: 1, colStride: p.cout };
  if (isPointwise(p)) return gemmF32({ data: dy, offset: 0, rowStride: p.cout, colStride: 1 }, Wt, M, p.cout, K, { out, offset: 0 });
  out.fill(0);
  const chunk = chunkRows(p);
  for (let r0 = 0; r0 < M; r0 += chunk) {
    const rows = Math.min(chunk, M - r0);
    gemmF32({ data: dy, offset: r0 * p.cout, rowStride: p.cout, colStride: 1 }, Wt, rows, p.cout, K, (heap, at, ld) => col2im(heap, at, ld, out, p, r0, rows));
  }
}

/** out [kh, kw, cin, cout] = gradient of conv2d with respect to its filter, computed as its transpose dyᵀ · cols, summed over chunks. */
export function conv2dGradFilterCpu(x: Arr, dy: Arr, out: Arr, p: Conv2dParams): void {
  if (!(x instanceof Float32Array && dy instanceof Float32Array && out instanceof Float32Array)) return conv2dGradFilterLoops(x, dy, out, p);
  const K = p.kh * p.kw * p.cin, M = p.n * p.oh * p.ow, cout = p.cout;
  out.fill(0);
  // C = dWᵀ [cout, K]; add it transposed into out [K, cout].
  const addTransposed = (heap: Float32Array, at: number, ld: number) => {
    for (let o = 0; o < cout; o++) {
      const row = at + o * ld;
      for (let kk = 0; kk < K; kk++) out[kk * cout + o] += heap[row + kk];
    }
  };
  const chunk = isPointwise(p) ? M : chunkRows(p);
  for (let r0 = 0; r0 < M; r0 += chunk) {
    const rows = Math.min(chunk, M - r0);
    const dyT = { data: dy, offset: r0 * cout, rowStride: 1, colStride: cout };
    const cols = isPointwise(p)
      ? { data: x, offset: 0, rowStride: K, colStride: 1 }
      : (heap: Float32Array, at: number) => im2col(x, heap, at, p, r0, rows);
    gemmF32(dyT, cols, cout, rows, K, addTransposed);
  }
}

// ---- float64 (and reference) loops ----

/**
 * Calls fn(go, xo, wo) for every output position and every filter tap that lands inside the input:
 * go indexes the output/dy pixel [.., cout], xo the input pixel [.., cin], wo the filter tap [.., cin, cout].
 */
function forEachTap(p: Conv2dParams, fn: (go: number, xo: number, wo: number) => void): void {
  const { n, h, w: W, cin, kh, kw, cout, oh, ow, strideH, strideW, dilationH, dilationW, padTop, padLeft } = p;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++)
      for (let ox = 0; ox < ow; ox++) {
        const go = ((b * oh + oy) * ow + ox) * cout;
        for (let ky = 0; ky < kh; ky++) {
          const iy = oy * strideH + ky * dilationH - padTop;
          if (iy < 0 || iy >= h) continue;
          for (let kx = 0; kx < kw; kx++) {
            const ix = ox * strideW + kx * dilationW - padLeft;
            if (ix < 0 || ix >= W) continue;
            fn(go, ((b * h + iy) * W + ix) * cin, (ky * kw + kx) * cin * cout);
          }
        }
      }
}

function conv2dLoops(x: Arr, w: Arr, out: Arr, p: Conv2dParams): void {
  const { cin, cout } = p;
  const acc = new Float64Array(out.length);
  forEachTap(p, (go, xo, wo) => {
    for (let c = 0; c < cin; c++) {
      const xv = x[xo + c];
      if (xv === 0) continue;
      const wr = wo + c * cout;
      for (let o = 0; o < cout; o++) acc[go + o] += xv * w[wr + o];
    }
  });
  out.set(acc);
}

/** dx = conv2d^T(dy, w), shape [n, h, w, cin]. */
function conv2dGradInputLoops(dy: Arr, w: Arr, out: Arr, p: Conv2dParams): void {
  const { cin, cout } = p;
  const acc = new Float64Array(out.length);
  forEachTap(p, (go, xo, wo) => {
    for (let c = 0; c < cin; c++) {
      let s = 0;
      const wr = wo + c * cout;
      for (let o = 0; o < cout; o++) s += dy[go + o] * w[wr + o];
      acc[xo + c] += s;
    }
  });
  out.set(acc);
}

/** dw = sum over batch and positions of x ⊗ dy; out shape [kh, kw, cin, cout]. */
function conv2dGradFilterLoops(x: Arr, dy: Arr, out: Arr, p: Conv2dParams): void {
  const { cin, cout } = p;
  const acc = new Float64Array(out.length);
  forEachTap(p, (go, xo, wo) => {
    for (let c = 0; c < cin; c++) {
      const xv = x[xo + c];
      if (xv === 0) continue;
      const wr = wo + c * cout;
      for (let o = 0; o < cout; o++) acc[wr + o] += xv * dy[go + o];
    }
  });
  out.set(acc);
}


// ---- pooling: channels innermost, so every window tap is a contiguous run written straight into out ----

/** out [n, oh, ow, c] = max or mean over each window (padding ignored; avg divides by the in-image count). */
export function pool2dCpu(op: "max" | "avg", x: Arr, out: Arr, p: Pool2dParams): void {
  if (op === "max") maxPool(x, out, p);
  else avgPool(x, out, p);
}

/** The WASM path takes float32 "valid" windows (no tap outside the image) over a multiple of 4 channels. */
function wasmPoolable(x: Arr, p: Pool2dParams): x is Float32Array {
  return x instanceof Float32Array && p.c % 4 === 0 && p.padTop === 0 && p.padLeft === 0 &&
    (p.oh - 1) * p.strideH + p.kh <= p.h && (p.ow - 1) * p.strideW + p.kw <= p.w && p.oh > 0 && p.ow > 0;
}

/** Runs `row(xByte, outRowFloat)` for every output row (b, oy) with x staged at heap[0...]. */
function forEachPoolRow(p: Pool2dParams, row: (xByte: number, outIndex: number) => void): void {
  const { n, h, w, c, oh, ow, strideH } = p;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) row((b * h + oy * strideH) * w * c * 4, (b * oh + oy) * ow * c);
}

function maxPool(x: Arr, out: Arr, p: Pool2dParams): void {
  const { n, h, w, c, kh, kw, oh, ow, strideH, strideW, padTop, padLeft } = p;
  if (wasmPoolable(x, p)) {
    const rt = gemmRuntime();
    const outAt = x.length + 4;
    rt.ensure(outAt + out.length);
    rt.heap().set(x, 0);
    forEachPoolRow(p, (xByte, o) => rt.maxPoolRow(xByte, (outAt + o) * 4, ow, strideW * c * 4, c / 4, kh, kw, w * c * 4, c * 4));
    const heap = rt.heap();
    out.set(heap.subarray(outAt, outAt + out.length));
    return;
  }
  let oo = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop, y0 = Math.max(ys, 0), y1 = Math.min(ys + kh, h);
      for (let ox = 0; ox < ow; ox++, oo += c) {
        const xs = ox * strideW - padLeft, x0 = Math.max(xs, 0), x1 = Math.min(xs + kw, w);
        if (y0 >= y1 || x0 >= x1) {
          for (let ch = 0; ch < c; ch++) out[oo + ch] = -Infinity;
          continue;
        }
        let first = true;
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            if (first) {
              for (let ch = 0; ch < c; ch++) out[oo + ch] = x[base + ch];
              first = false;
              continue;
            }
            // NaN wins and then sticks (v > NaN is false), like the reference.
            for (let ch = 0; ch < c; ch++) {
              const v = x[base + ch];
              if (v > out[oo + ch] || v !== v) out[oo + ch] = v;
            }
          }
      }
    }
}

function avgPool(x: Arr, out: Arr, p: Pool2dParams): void {
  const { n, h, w, c, kh, kw, oh, ow, strideH, strideW, padTop, padLeft } = p;
  const acc = new Float64Array(c);
  let oo = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop, y0 = Math.max(ys, 0), y1 = Math.min(ys + kh, h);
      for (let ox = 0; ox < ow; ox++, oo += c) {
        const xs = ox * strideW - padLeft, x0 = Math.max(xs, 0), x1 = Math.min(xs + kw, w);
        const count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
        acc.fill(0);
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) acc[ch] += x[base + ch];
          }
        const scale = count > 0 ? 1 / count : 0;
        for (let ch = 0; ch < c; ch++) out[oo + ch] = acc[ch] * scale;
      }
    }
}

/** out [n, h, w, c] = gradient of pool2d w.r.t. x; max routes each dy to the first maximal element of its window. */
export function pool2dGradCpu(op: "max" | "avg", x: Arr, dy: Arr, out: Arr, p: Pool2dParams): void {
  out.fill(0);
  if (op === "max") maxPoolGrad(x, dy, out, p);
  else avgPoolGrad(dy, out, p);
}

function maxPoolGrad(x: Arr, dy: Arr, out: Arr, p: Pool2dParams): void {
  const { n, h, w, c, kh, kw, oh, ow, strideH, strideW, padTop, padLeft } = p;
  if (wasmPoolable(x, p)) {
    const rt = gemmRuntime();
    const idxAt = x.length + 4;
    rt.ensure(idxAt + dy.length);
    rt.heap().set(x, 0);
    forEachPoolRow(p, (xByte, o) => rt.maxPoolArgmaxRow(xByte, (idxAt + o) * 4, ow, strideW * c * 4, c / 4, kh, kw, w * c * 4, c * 4, xByte / 4));
    const argmax = new Int32Array(rt.memory.buffer, idxAt * 4, dy.length);
    for (let j = 0; j < dy.length; j++) out[argmax[j]] += dy[j];
    return;
  }
  const bestIndex = new Int32Array(c);
  let oo = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop, y0 = Math.max(ys, 0), y1 = Math.min(ys + kh, h);
      for (let ox = 0; ox < ow; ox++, oo += c) {
        const xs = ox * strideW - padLeft, x0 = Math.max(xs, 0), x1 = Math.min(xs + kw, w);
        if (y0 >= y1 || x0 >= x1) continue;
        const firstBase = ((b * h + y0) * w + x0) * c;
        for (let ch = 0; ch < c; ch++) bestIndex[ch] = firstBase + ch;
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            if (base === firstBase) continue;
            for (let ch = 0; ch < c; ch++) if (x[base + ch] > x[bestIndex[ch]]) bestIndex[ch] = base + ch;
          }
        for (let ch = 0; ch < c; ch++) out[bestIndex[ch]] += dy[oo + ch];
      }
    }
}

function avgPoolGrad(dy: Arr, out: Arr, p: Pool2dParams): void {
  const { n, h, w, c, kh, kw, oh, ow, strideH, strideW, padTop, padLeft } = p;
  let oo = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop, y0 = Math.max(ys, 0), y1 = Math.min(ys + kh, h);
      for (let ox = 0; ox < ow; ox++, oo += c) {
        const xs = ox * strideW - padLeft, x0 = Math.max(xs, 0), x1 = Math.min(xs + kw, w);
        const count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
        if (count === 0) continue;
        for (let y = y0; y < y1; y++)
          for (let xx = x0; xx < x1; xx++) {
            const base = ((b * h + y) * w + xx) * c;
            for (let ch = 0; ch < c; ch++) out[base + ch] += dy[oo + ch] / count;
          }
      }
    }
}

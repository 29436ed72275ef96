/**
 * The float32 GEMM core: a WASM SIMD128 register-blocked micro-kernel (emitted by wasm-assembler.ts)
 * and the cache-blocked driver that packs A and B panels for it (GotoBLAS loop order).
 * The driver only touches Float32Array views and offsets, so the same code runs on the main
 * thread and in the worker (gemm-threads.ts) over shared memory.
 */
import { assembleModule, FunctionBuilder, I32, Op, Simd, V128 } from "./wasm-assembler.js";
import { maxPoolArgmaxRowKernel, maxPoolRowKernel } from "./pool-kernel.js";

export interface GemmTiling {
  /** Micro-tile rows (A panel height) and columns (B panel width, a multiple of 4). */
  mr: number; nr: number;
  /** Inner-loop unroll; packed depth is padded to a multiple of it. */
  unroll: number;
  /** Cache blocks: rows of A, depth, and columns of B packed at once. mc is a multiple of mr, nc of nr. */
  mc: number; kc: number; nc: number;
  /** Use f32x4.relaxed_madd (FMA) instead of mul + add; only where the engine accepts relaxed SIMD. */
  fma?: boolean;
}

/** acc += a·b on the stack machine: mul + add, or one relaxed_madd. */
function multiplyAdd(f: FunctionBuilder, fma: boolean | undefined, acc: number, a: number, b: number): void {
  if (fma) f.get(a).get(b).get(acc).simd(Simd.f32x4RelaxedMadd).set(acc);
  else f.get(acc).get(a).get(b).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc);
}

// Measured on a 2-core AMD EPYC (AVX2) with Node 20: 4x8 with unroll 2 is ≥ the 5x8, 6x8, 3x12 and 2x16 variants.
export const DEFAULT_TILING: GemmTiling = { mr: 4, nr: 8, unroll: 1, mc: 64, kc: 256, nc: 1024 };

/**
 * gemm_macro(a, b, c, ldcBytes, mPanels, nPanels, kcPad):
 * for each B panel (nr wide) and each A panel (mr tall): C tile += A panel · B panel over kcPad steps.
 * Pointers are byte addresses; A panels are [kcPad][mr], B panels [kcPad][nr], C row-major with stride ldcBytes.
 */
export function macroKernel(t: GemmTiling): FunctionBuilder {
  const { mr, nr, unroll } = t;
  const nv = nr / 4;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [A, B, C, LDC, MPANELS, NPANELS, KC, ACCUMULATE] = [0, 1, 2, 3, 4, 5, 6, 7];
  const aPtr = f.local(I32), bPtr = f.local(I32), cCol = f.local(I32), cTile = f.local(I32);
  const ap = f.local(I32), bp = f.local(I32), p = f.local(I32), mi = f.local(I32), nj = f.local(I32), cRow = f.local(I32);
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, () => f.local(V128)));
  const bv = Array.from({ length: nv }, () => f.local(V128));
  const av = f.local(V128);

  f.get(B).set(bPtr).get(C).set(cCol).get(NPANELS).set(nj);
  f.op(Op.loop, 0x40); // over B panels
  {
    f.get(A).set(aPtr).get(cCol).set(cTile).get(MPANELS).set(mi);
    f.op(Op.loop, 0x40); // over A panels
    {
      loadOrZeroTile(f, ACCUMULATE, cTile, LDC, cRow, acc);
      f.get(aPtr).set(ap).get(bPtr).set(bp).get(KC).set(p);
      f.op(Op.loop, 0x40); // over depth
      for (let u = 0; u < unroll; u++) {
        for (let j = 0; j < nv; j++) f.get(bp).simdMem(Simd.v128Load, 4 * nr * u + 16 * j, 4).set(bv[j]);
        for (let r = 0; r < mr; r++) {
          f.get(ap).simdMem(Simd.v128Load32Splat, 4 * mr * u + 4 * r, 2).set(av);
          for (let j = 0; j < nv; j++) multiplyAdd(f, t.fma, acc[r][j], av, bv[j]);
        }
      }
      f.addTo(ap, 4 * mr * unroll).addTo(bp, 4 * nr * unroll);
      f.get(p).i32(unroll).op(Op.i32Sub).tee(p).op(Op.brIf, 0);
      f.op(Op.end);
      for (let r = 0; r < mr; r++) {
        f.get(cTile);
        if (r > 0) f.get(LDC).i32(r).op(Op.i32Mul).op(Op.i32Add);
        f.set(cRow);
        for (let j = 0; j < nv; j++) f.get(cRow).get(acc[r][j]).simdMem(Simd.v128Store, 16 * j, 4);
      }
      // A panels are contiguous: the depth loop left ap at the next one.
      f.get(ap).set(aPtr);
      f.get(cTile).get(LDC).i32(mr).op(Op.i32Mul).op(Op.i32Add).set(cTile);
      f.get(mi).i32(1).op(Op.i32Sub).tee(mi).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.get(bp).set(bPtr); // next B panel
    f.addTo(cCol, 4 * nr);
    f.get(nj).i32(1).op(Op.i32Sub).tee(nj).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return f;
}

/**
 * gemm_direct(a, ldaBytes, b, ldbBytes, c, ldcBytes, mPanels, nPanels, k): the same tiles without packing,
 * reading row-major A (mr row pointers) and row-major B (nr floats per row) where they lie.
 * Rows past m and columns past n read whatever follows (the caller leaves slack) and only land in padding of C.
 */
export function directKernel(t: GemmTiling, aTransposed = false): FunctionBuilder {
  const { mr, nr } = t;
  const nv = nr / 4;
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [A, LDA, B, LDB, C, LDC, MPANELS, NPANELS, K, ACCUMULATE] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const aPanel = f.local(I32), bCol = f.local(I32), cCol = f.local(I32), cTile = f.local(I32), cRow = f.local(I32);
  const bp = f.local(I32), p = f.local(I32), mi = f.local(I32), nj = f.local(I32);
  const ar = Array.from({ length: mr }, () => f.local(I32));
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) acc.push(Array.from({ length: nv }, () => f.local(V128)));
  const bv = Array.from({ length: nv }, () => f.local(V128));
  const av = f.local(V128);

  f.get(B).set(bCol).get(C).set(cCol).get(NPANELS).set(nj);
  f.op(Op.loop, 0x40); // over column panels of B
  {
    f.get(A).set(aPanel).get(cCol).set(cTile).get(MPANELS).set(mi);
    f.op(Op.loop, 0x40); // over row panels of A
    {
      loadOrZeroTile(f, ACCUMULATE, cTile, LDC, cRow, acc);
      // Row-major A: one pointer per row, each stepping 4 bytes. Transposed A: the mr values of one depth
      // are adjacent (like a packed panel), one pointer stepping a stored row (LDA bytes).
      if (aTransposed) f.get(aPanel).set(ar[0]);
      else {
        for (let r = 0; r < mr; r++) {
          f.get(aPanel);
          if (r > 0) f.get(LDA).i32(r).op(Op.i32Mul).op(Op.i32Add);
          f.set(ar[r]);
        }
      }
      f.get(bCol).set(bp).get(K).set(p);
      f.op(Op.loop, 0x40); // over depth
      for (let j = 0; j < nv; j++) f.get(bp).simdMem(Simd.v128Load, 16 * j, 2).set(bv[j]);
      for (let r = 0; r < mr; r++) {
        if (aTransposed) f.get(ar[0]).simdMem(Simd.v128Load32Splat, 4 * r, 2).set(av);
        else f.get(ar[r]).simdMem(Simd.v128Load32Splat, 0, 2).set(av);
        for (let j = 0; j < nv; j++) multiplyAdd(f, t.fma, acc[r][j], av, bv[j]);
        if (!aTransposed) f.addTo(ar[r], 4);
      }
      if (aTransposed) f.get(ar[0]).get(LDA).op(Op.i32Add).set(ar[0]);
      f.get(bp).get(LDB).op(Op.i32Add).set(bp);
      f.get(p).i32(1).op(Op.i32Sub).tee(p).op(Op.brIf, 0);
      f.op(Op.end);
      for (let r = 0; r < mr; r++) {
        f.get(cTile);
        if (r > 0) f.get(LDC).i32(r).op(Op.i32Mul).op(Op.i32Add);
        f.set(cRow);
        for (let j = 0; j < nv; j++) f.get(cRow).get(acc[r][j]).simdMem(Simd.v128Store, 16 * j, 4);
      }
      if (aTransposed) f.addTo(aPanel, 4 * mr);
      else f.get(aPanel).get(LDA).i32(mr).op(Op.i32Mul).op(Op.i32Add).set(aPanel);
      f.get(cTile).get(LDC).i32(mr).op(Op.i32Mul).op(Op.i32Add).set(cTile);
      f.get(mi).i32(1).op(Op.i32Sub).tee(mi).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.addTo(bCol, 4 * nr).addTo(cCol, 4 * nr);
    f.get(nj).i32(1).op(Op.i32Sub).tee(nj).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return f;
}

/** acc = C tile when `accumulate` is nonzero (later depth blocks), else zeros (the first one: C need not be cleared). */
function loadOrZeroTile(f: FunctionBuilder, accumulate: number, cTile: number, ldc: number, cRow: number, acc: number[][]): void {
  f.get(accumulate).op(Op.if, 0x40);
  acc.forEach((row, r) => {
    f.get(cTile);
    if (r > 0) f.get(ldc).i32(r).op(Op.i32Mul).op(Op.i32Add);
    f.set(cRow);
    row.forEach((a, j) => f.get(cRow).simdMem(Simd.v128Load, 16 * j, 4).set(a));
  });
  f.op(Op.else);
  for (const row of acc) for (const a of row) f.simd(Simd.v128Const, ...new Array<number>(16).fill(0)).set(a);
  f.op(Op.end);
}

export function gemmModuleBytes(t: GemmTiling, shared: boolean, maximumPages: number): Uint8Array {
  return assembleModule({
    memory: { initialPages: 1, maximumPages, shared },
    functions: [
      { name: "gemm_macro", fn: macroKernel(t) }, { name: "gemm_direct", fn: directKernel(t) },
      { name: "gemm_direct_ta", fn: directKernel(t, true) },
      { name: "maxpool_row", fn: maxPoolRowKernel() }, { name: "maxpool_argmax_row", fn: maxPoolArgmaxRowKernel() },
    ],
  });
}

export type DirectFn = (a: number, ldaBytes: number, b: number, ldbBytes: number, c: number, ldcBytes: number, mPanels: number, nPanels: number, k: number, accumulate: number) => void;

/**
 * C[rows, 0:n] = A[rows, 0:k] · B[0:k, 0:n] (C need not be cleared) with A (row stride lda) and B (row stride ldb) row-major in the heap,
 * for rows [rowStart, rowEnd) (rowStart a multiple of mr), cache-blocked like gemmBlocked but with nothing packed.
 * Rows go in blocks of `blockRows` (a multiple of mr); with `claim`, the blocks are taken from a counter shared
 * with another thread (claim() returns the next block number), so two threads balance themselves.
 * A needs mr−1 rows of readable slack after row m−1, B nr floats after its last row; C as for gemmBlocked.
 * With aTransposed, A is stored as Aᵀ [k, m] (row stride lda) and needs mr floats of slack, and `direct` is gemm_direct_ta.
 */
export function gemmDirect(
  t: GemmTiling, direct: DirectFn, aOff: number, lda: number, bOff: number, ldb: number, k: number, n: number,
  cOff: number, ldc: number, rowStart: number, rowEnd: number, aTransposed = false,
  blockRows = t.mc, claim?: () => number,
): void {
  const { mr, nr, kc: KC, nc: NC } = t;
  const blocks = Math.ceil((rowEnd - rowStart) / blockRows);
  const runBlock = (ic: number) => {
    const mPanels = Math.ceil(Math.min(blockRows, rowEnd - ic) / mr);
    for (let jc = 0; jc < n; jc += NC) {
      const nPanels = Math.ceil(Math.min(NC, n - jc) / nr);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        const aAt = aTransposed ? aOff + pc * lda + ic : aOff + ic * lda + pc;
        direct(aAt * 4, lda * 4, (bOff + pc * ldb + jc) * 4, ldb * 4, (cOff + ic * ldc + jc) * 4, ldc * 4, mPanels, nPanels, kc, pc > 0 ? 1 : 0);
      }
    }
  };
  if (!claim) for (let b = 0; b < blocks; b++) runBlock(rowStart + b * blockRows);
  else for (let b = claim(); b < blocks; b = claim()) runBlock(rowStart + b * blockRows);
}

export type MacroFn = (a: number, b: number, c: number, ldcBytes: number, mPanels: number, nPanels: number, kcPad: number, accumulate: number) => void;

/** A strided matrix: element (i, j) is data[offset + i * rowStride + j * colStride]. */
export interface StridedMatrix { data: Float32Array; offset: number; rowStride: number; colStride: number }

/** Float elements of scratch one driver needs for packing. */
export function packScratchFloats(t: GemmTiling): number {
  return t.mc * t.kc + t.kc * t.nc;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * C[rows, 0:n] = A[rows, :] · B (C need not be cleared), for rows [rowStart, rowEnd) (rowStart a multiple of mr).
 * `heap` views the WASM memory; C is heap[cOff...] with stride ldc ≥ roundUp(n, nr) and at least
 * roundUp(rowEnd, mr) rows; `scratch` is a float offset with packScratchFloats(t) free floats.
 */
export function gemmBlocked(
  t: GemmTiling, macro: MacroFn, heap: Float32Array,
  A: StridedMatrix, B: StridedMatrix, k: number, n: number,
  cOff: number, ldc: number, rowStart: number, rowEnd: number, scratch: number,
): void {
  const { mr, nr, unroll, mc: MC, kc: KC, nc: NC } = t;
  const aPack = scratch, bPack = scratch + MC * KC;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc), nPanels = Math.ceil(nc / nr);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc), kcPad = roundUp(kc, unroll);
      packB(heap, bPack, B, pc, kc, kcPad, jc, nc, nr);
      for (let ic = rowStart; ic < rowEnd; ic += MC) {
        const mcRows = Math.min(MC, rowEnd - ic), mPanels = Math.ceil(mcRows / mr);
        packA(heap, aPack, A, ic, mcRows, pc, kc, kcPad, mr);
        macro(aPack * 4, bPack * 4, (cOff + ic * ldc + jc) * 4, ldc * 4, mPanels, nPanels, kcPad, pc > 0 ? 1 : 0);
      }
    }
  }
}

/** A[i0:i0+rows, p0:p0+kc] into panels [kcPad][mr], zero-padded. */
function packA(heap: Float32Array, dst: number, A: StridedMatrix, i0: number, rows: number, p0: number, kc: number, kcPad: number, mr: number): void {
  const { data, rowStride: rs, colStride: cs } = A;
  const panels = Math.ceil(rows / mr);
  for (let q = 0; q < panels; q++) {
    const base = dst + q * mr * kcPad;
    for (let r = 0; r < mr; r++) {
      const i = q * mr + r;
      let d = base + r;
      if (i >= rows) {
        for (let p = 0; p < kcPad; p++, d += mr) heap[d] = 0;
        continue;
      }
      let s = A.offset + (i0 + i) * rs + p0 * cs;
      if (cs === 1) for (let p = 0; p < kc; p++, d += mr) heap[d] = data[s + p];
      else for (let p = 0; p < kc; p++, d += mr, s += cs) heap[d] = data[s];
      for (let p = kc; p < kcPad; p++, d += mr) heap[d] = 0;
    }
  }
}

/** B[p0:p0+kc, j0:j0+cols] into panels [kcPad][nr], zero-padded. */
function packB(heap: Float32Array, dst: number, B: StridedMatrix, p0: number, kc: number, kcPad: number, j0: number, cols: number, nr: number): void {
  const { data, rowStride: rs, colStride: cs } = B;
  const panels = Math.ceil(cols / nr);
  for (let q = 0; q < panels; q++) {
    const base = dst + q * nr * kcPad;
    const width = Math.min(nr, cols - q * nr);
    if (cs === 1) {
      for (let p = 0; p < kc; p++) {
        const s = B.offset + (p0 + p) * rs + j0 + q * nr, d = base + p * nr;
        for (let c = 0; c < width; c++) heap[d + c] = data[s + c];
        for (let c = width; c < nr; c++) heap[d + c] = 0;
      }
    } else {
      // Transposed source: walk each column contiguously along the depth.
      for (let c = 0; c < nr; c++) {
        let d = base + c;
        if (c >= width) {
          for (let p = 0; p < kc; p++, d += nr) heap[d] = 0;
          continue;
        }
        let s = B.offset + p0 * rs + (j0 + q * nr + c) * cs;
        if (rs === 1) for (let p = 0; p < kc; p++, d += nr) heap[d] = data[s + p];
        else for (let p = 0; p < kc; p++, d += nr, s += rs) heap[d] = data[s];
      }
    }
    for (let p = kc; p < kcPad; p++) heap.fill(0, base + p * nr, base + (p + 1) * nr);
  }
}

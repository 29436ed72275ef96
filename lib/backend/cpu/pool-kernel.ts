/**
 * WASM SIMD max pooling for "valid" windows (every tap inside the image) with channels a multiple of 4:
 * f32x4.max and compare+bitselect are branch-free, where the JS loops mispredict on real data
 * (measured 4-9× slower). conv.ts falls back to its JS loops for other shapes.
 * The functions live in the GEMM module (gemm-f32.ts) and share its heap.
 */
import { FunctionBuilder, I32, Op, Simd, V128 } from "./wasm-assembler.js";

/**
 * maxpool_row(x, out, ow, xStep, vecs, kh, kw, rowBytes, pixBytes): one output row.
 * x: byte address of the window's top-left pixel for ox = 0; xStep: bytes between windows along x;
 * vecs: channels / 4; rowBytes/pixBytes: input row and pixel sizes in bytes. out advances pixel by pixel.
 */
export function maxPoolRowKernel(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [X, OUT, OW, XSTEP, VECS, KH, KW, ROW, PIX] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ox = f.local(I32), v = f.local(I32), ky = f.local(I32), kx = f.local(I32), xb = f.local(I32), tap = f.local(I32), rowPtr = f.local(I32), outP = f.local(I32);
  const m = f.local(V128);
  f.get(X).set(xb).get(OUT).set(outP).get(OW).set(ox);
  f.op(Op.loop, 0x40); // pixels
  {
    f.i32(0).set(v);
    f.op(Op.loop, 0x40); // channel vectors
    {
      // tap address for (ky, kx) = xb + v*16 + ky*ROW + kx*PIX
      f.get(xb).get(v).i32(4).op(Op.i32Shl).op(Op.i32Add).set(rowPtr);
      f.get(rowPtr).simdMem(Simd.v128Load, 0, 2).set(m);
      f.get(KH).set(ky);
      f.op(Op.loop, 0x40);
      {
        f.get(rowPtr).set(tap).get(KW).set(kx);
        f.op(Op.loop, 0x40);
        f.get(m).get(tap).simdMem(Simd.v128Load, 0, 2).simd(Simd.f32x4Max).set(m);
        f.get(tap).get(PIX).op(Op.i32Add).set(tap);
        f.get(kx).i32(1).op(Op.i32Sub).tee(kx).op(Op.brIf, 0);
        f.op(Op.end);
        f.get(rowPtr).get(ROW).op(Op.i32Add).set(rowPtr);
        f.get(ky).i32(1).op(Op.i32Sub).tee(ky).op(Op.brIf, 0);
      }
      f.op(Op.end);
      f.get(outP).get(v).i32(4).op(Op.i32Shl).op(Op.i32Add).get(m).simdMem(Simd.v128Store, 0, 2);
      f.get(v).i32(1).op(Op.i32Add).tee(v).get(VECS).op(Op.i32LtS).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.get(xb).get(XSTEP).op(Op.i32Add).set(xb);
    f.get(outP).get(PIX).op(Op.i32Add).set(outP);
    f.get(ox).i32(1).op(Op.i32Sub).tee(ox).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return f;
}

/**
 * maxpool_argmax_row(x, idx, ow, xStep, vecs, kh, kw, rowBytes, pixBytes, xElem): like maxpool_row, but writes
 * for every output element the flat x index (int32) of the first maximal tap; xElem is the element index of x.
 */
export function maxPoolArgmaxRowKernel(): FunctionBuilder {
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [X, IDX, OW, XSTEP, VECS, KH, KW, ROW, PIX, XELEM] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const ox = f.local(I32), v = f.local(I32), ky = f.local(I32), kx = f.local(I32), xb = f.local(I32), tap = f.local(I32), rowPtr = f.local(I32), idxP = f.local(I32);
  const best = f.local(V128), bestIdx = f.local(V128), t = f.local(V128), mask = f.local(V128), lanes = f.local(V128);
  // lanes = [0, 1, 2, 3] as i32x4
  f.simd(Simd.v128Const, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0).set(lanes);
  f.get(X).set(xb).get(IDX).set(idxP).get(OW).set(ox);
  f.op(Op.loop, 0x40);
  {
    f.i32(0).set(v);
    f.op(Op.loop, 0x40);
    {
      f.get(xb).get(v).i32(4).op(Op.i32Shl).op(Op.i32Add).set(rowPtr);
      f.get(rowPtr).simdMem(Simd.v128Load, 0, 2).set(best);
      // Element index of a tap = (tap byte address − x byte address) / 4 + xElem.
      const tapIndex = (addr: number) => f.get(addr).get(X).op(Op.i32Sub).i32(2).op(0x75 /* i32.shr_s */).get(XELEM).op(Op.i32Add).simd(Simd.i32x4Splat).get(lanes).simd(Simd.i32x4Add);
      tapIndex(rowPtr).set(bestIdx);
      f.get(KH).set(ky);
      f.op(Op.loop, 0x40);
      {
        f.get(rowPtr).set(tap).get(KW).set(kx);
        f.op(Op.loop, 0x40);
        f.get(tap).simdMem(Simd.v128Load, 0, 2).set(t);
        // Strictly greater only: ties keep the first tap (and NaN never replaces).
        f.get(t).get(best).simd(Simd.f32x4Gt).set(mask);
        f.get(t).get(best).get(mask).simd(Simd.v128Bitselect).set(best);
        tapIndex(tap).get(bestIdx).get(mask).simd(Simd.v128Bitselect).set(bestIdx);
        f.get(tap).get(PIX).op(Op.i32Add).set(tap);
        f.get(kx).i32(1).op(Op.i32Sub).tee(kx).op(Op.brIf, 0);
        f.op(Op.end);
        f.get(rowPtr).get(ROW).op(Op.i32Add).set(rowPtr);
        f.get(ky).i32(1).op(Op.i32Sub).tee(ky).op(Op.brIf, 0);
      }
      f.op(Op.end);
      f.get(idxP).get(v).i32(4).op(Op.i32Shl).op(Op.i32Add).get(bestIdx).simdMem(Simd.v128Store, 0, 2);
      f.get(v).i32(1).op(Op.i32Add).tee(v).get(VECS).op(Op.i32LtS).op(Op.brIf, 0);
    }
    f.op(Op.end);
    f.get(xb).get(XSTEP).op(Op.i32Add).set(xb);
    f.get(idxP).get(PIX).op(Op.i32Add).set(idxP);
    f.get(ox).i32(1).op(Op.i32Sub).tee(ox).op(Op.brIf, 0);
  }
  f.op(Op.end);
  return f;
}

export type MaxPoolRowFn = (x: number, out: number, ow: number, xStep: number, vecs: number, kh: number, kw: number, rowBytes: number, pixBytes: number) => void;
export type MaxPoolArgmaxRowFn = (x: number, idx: number, ow: number, xStep: number, vecs: number, kh: number, kw: number, rowBytes: number, pixBytes: number, xElem: number) => void;

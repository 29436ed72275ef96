/**
 * IEEE 754 binary16 (float16) rounding on the host: float32 → float16 bits with round-to-nearest-even,
 * gradual underflow (subnormals down to 2⁻²⁴), overflow to ±Inf (from 65520 on) and NaN kept NaN; and back.
 * The CPU backend's packHalf rounds matmul operands with it (float16 values kept in a Float32Array).
 */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** float16 bits (0 .. 0xffff) of the float32 nearest to `x`, rounded to nearest even. */
export function float16Bits(x: number): number {
  scratchFloat[0] = x;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf, or a quiet NaN
  const e = exponent - 127 + 15; // float16's biased exponent
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // A float16 subnormal (or zero): shift the mantissa, implicit bit included, to units of 2⁻²⁴.
    if (e < -10) return sign; // below 2⁻²⁵: rounds to ±0
    mantissa |= 0x800000;
    const shift = 14 - e;
    const halfway = 1 << (shift - 1);
    const rest = mantissa & ((1 << shift) - 1);
    let h = mantissa >>> shift;
    if (rest > halfway || (rest === halfway && h & 1)) h++; // h = 0x400 is the smallest normal: still right
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is right, up to 0x7c00 = Inf
  return sign | h;
}

/** The value of float16 bits. */
export function float16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** `x` rounded to the nearest float16 (as a number, exactly representable in float32). */
export function roundToFloat16(x: number): number {
  return float16Value(float16Bits(x));
}

/**
 * The first `n` elements of `src` rounded to float16, in a new Float32Array. Works on the float32 bits
 * (≈ 10× faster than float16Value(float16Bits(x)) per element); test/core-half checks it against that.
 */
export function roundArrayToFloat16(src: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const inBits = new Uint32Array(src.buffer, src.byteOffset, n), outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    const bits = inBits[i];
    const abs = bits & 0x7fffffff;
    if (abs >= 0x7f800000) {
      outBits[i] = bits; // ±Inf, NaN
    } else if (abs >= 0x38800000) {
      // ≥ 2⁻¹⁴, a float16 normal: keep 10 mantissa bits, rounding the 13 dropped ones to nearest even
      // (a carry into the exponent is right); 65536 and up (from 65520 before rounding) is past float16.
      const r = ((abs + 0xfff + ((abs >>> 13) & 1)) & 0x7fffe000) >>> 0;
      outBits[i] = ((bits & 0x80000000) | (r >= 0x47800000 ? 0x7f800000 : r)) >>> 0;
    } else {
      // A float16 subnormal: multiples of 2⁻²⁴. Adding 0.5 (float32 spacing 2⁻²⁴ there) rounds to nearest
      // even; the double sum is exact from 2⁻²⁵ on, and anything smaller rounds to 0 either way.
      const v = Math.fround(Math.fround(Math.abs(src[i]) + 0.5) - 0.5);
      out[i] = bits & 0x80000000 ? -v : v;
    }
  }
  return out;
}

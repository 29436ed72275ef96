/**
 * Half-precision operands: float32 packed into float16 pairs (two per 32-bit word, element i in the low
 * half of word i / 2 when i is even), and the matmul kernels reading such operands. Storage halves; the
 * products accumulate in float32. With the `shader-f16` feature the kernels bind packed operands as
 * `array<f16>` and convert with `f32(...)`; without it they unpack words with `unpack2x16float` (core WGSL).
 */
import { ENTRY_BUILTINS, LINEAR_GROUP, PRELUDE } from "./wgsl.js";
import { matmulDirectShader, matmulShader } from "./matmul.js";

export const PACK_HALF_WORKGROUP = 64;

/**
 * float32 → float16 pairs. WGSL leaves the rounding of a conversion to f16 to the implementation (either
 * neighbour) and out-of-range values indeterminate, so magnitudes past float16's largest finite value
 * (65504, i.e. from 65520 on, which rounds up) become ±Inf explicitly and NaN stays NaN.
 */
export const PACK_HALF_SHADER = /* wgsl */ `
struct Params { n: u32, xStart: u32, outStart: u32, pad0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
${PRELUDE}
fn to_half_range(v: f32) -> f32 {
  if (isnan_f(v)) { return v; }
  if (abs(v) >= 65520.0) { return select(-inf_f(), inf_f(), v > 0.0); }
  return v;
}
fn half_bits(v: f32) -> u32 {
  let c = to_half_range(v);
  if (isinf_f(c)) { return select(0xfc00u, 0x7c00u, c > 0.0); }
  if (isnan_f(c)) { return 0x7e00u; }
  return pack2x16float(vec2f(c, 0.0)) & 0xffffu;
}
@compute @workgroup_size(${PACK_HALF_WORKGROUP})
fn main(${ENTRY_BUILTINS}) {
  let w = ${LINEAR_GROUP} * ${PACK_HALF_WORKGROUP}u + lid;
  let i = 2u * w;
  if (i >= P.n) { return; }
  let lo = half_bits(bitcast<f32>(x[P.xStart + i]));
  var hi = 0u;
  if (i + 1u < P.n) { hi = half_bits(bitcast<f32>(x[P.xStart + i + 1u])); }
  out[P.outStart + w] = lo | (hi << 16u);
}`;

/** Words of a packed float16 buffer of n elements. */
export function halfWords(n: number): number {
  return Math.ceil(n / 2);
}

/**
 * Rewrites every `bitcast<f32>(NAME[index])` of a float32 matmul kernel into `load_NAME(index)` (matching
 * brackets), so the tuned kernels read packed operands unchanged otherwise. Throws when the kernel source
 * no longer has such loads (matmul.ts changed its load expressions).
 */
function rewriteLoads(code: string, name: string): string {
  const prefix = `bitcast<f32>(${name}[`;
  let out = "";
  let at = 0;
  let count = 0;
  for (let start = code.indexOf(prefix); start >= 0; start = code.indexOf(prefix, at)) {
    let depth = 1, i = start + prefix.length;
    for (; i < code.length && depth > 0; i++) {
      if (code[i] === "[") depth++;
      else if (code[i] === "]") depth--;
    }
    if (code[i] !== ")") throw new Error(`webgpu matmulHalf: unexpected load of ${name} in the matmul kernel at '${code.slice(start, i + 1)}'`);
    out += code.slice(at, start) + `load_${name}(${code.slice(start + prefix.length, i - 1)})`;
    at = i + 1;
    count++;
  }
  if (count === 0) throw new Error(`webgpu matmulHalf: the float32 matmul kernel has no 'bitcast<f32>(${name}[...])' loads to rewrite (kernels/matmul.ts changed): update kernels/half.ts`);
  return out + code.slice(at);
}

export interface MatmulHalfVariant {
  kernel: "tiled" | "direct";
  /** Which operands are packed float16 (the others float32). */
  aHalf: boolean;
  bHalf: boolean;
  /** Bind packed operands as array<f16> (needs `shader-f16`) instead of unpacking u32 words. */
  nativeF16: boolean;
}

export function matmulHalfKey(v: MatmulHalfVariant): string {
  return `matmulHalf ${v.kernel} a:${v.aHalf ? "f16" : "f32"} b:${v.bHalf ? "f16" : "f32"}${v.nativeF16 ? " shader-f16" : " unpack"}`;
}

/** The float32 matmul kernel of `v.kernel`, reading A and/or B as packed float16. Same uniforms and bindings. */
export function matmulHalfShader(v: MatmulHalfVariant): string {
  let code = v.kernel === "tiled" ? matmulShader("float32") : matmulDirectShader("float32");
  const loaders: string[] = [];
  for (const [name, half] of [["A", v.aHalf], ["B", v.bHalf]] as const) {
    code = rewriteLoads(code, name);
    if (!half) {
      loaders.push(`fn load_${name}(i: u32) -> f32 { return bitcast<f32>(${name}[i]); }`);
      continue;
    }
    if (v.nativeF16) {
      const declaration = `var<storage, read> ${name}: array<u32>;`;
      if (!code.includes(declaration)) throw new Error(`webgpu matmulHalf: the matmul kernel does not declare '${declaration}' (kernels/matmul.ts changed)`);
      code = code.replace(declaration, `var<storage, read> ${name}: array<f16>;`);
      loaders.push(`fn load_${name}(i: u32) -> f32 { return f32(${name}[i]); }`);
    } else {
      loaders.push(`fn load_${name}(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }`);
    }
  }
  // Loaders go after the bindings they read (module-scope order does not matter in WGSL, but it reads better).
  return `${v.nativeF16 && (v.aHalf || v.bHalf) ? "enable f16;\n" : ""}${code}\n${loaders.join("\n")}\n`;
}

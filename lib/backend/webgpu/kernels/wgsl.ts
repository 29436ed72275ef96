/**
 * WGSL shared by every kernel: storage is always `array<u32>` (float32 bits, int32 bits, bool as 0/1),
 * converted on load and store, so one shader source serves any buffer and the CPU backend's conversion
 * rules (NaN → false, float → int32 truncation with NaN/±Inf → 0 and 2^32 wrap-around) hold exactly.
 */
import type { DType } from "../../../dtype.js";

/** Scalar type a kernel computes in. */
export type Scalar = "f32" | "i32";
/** How an input is loaded: as a number of some scalar type, or as a WGSL bool (truthiness). */
export type LoadAs = Scalar | "bool";

export function scalarOf(dtype: DType): Scalar {
  return dtype === "float32" ? "f32" : "i32";
}

export const PRELUDE = /* wgsl */ `
fn nan_f() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
fn isnan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isinf_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn truthy_f(x: f32) -> bool { return x != 0.0 && !isnan_f(x); }
fn b2f(c: bool) -> f32 { return select(0.0, 1.0, c); }
fn b2i(c: bool) -> i32 { return select(0, 1, c); }
// JavaScript ToInt32: truncate, NaN/Inf -> 0, wrap modulo 2^32.
fn f2i(x: f32) -> i32 {
  if (isnan_f(x) || isinf_f(x)) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  var m = t - floor(t / 4294967296.0) * 4294967296.0;
  if (m >= 2147483648.0) { m = m - 4294967296.0; }
  return i32(m);
}
fn log_f(x: f32) -> f32 {
  if (x < 0.0) { return nan_f(); }
  if (x == 0.0) { return -inf_f(); }
  return log(x);
}
fn sqrt_f(x: f32) -> f32 { if (x < 0.0) { return nan_f(); } return sqrt(x); }
fn log1p_f(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  if (u < 0.0 || isnan_f(x)) { return nan_f(); }
  if (u == 0.0) { return -inf_f(); }
  if (isinf_f(u)) { return u; }
  return log(u) * x / (u - 1.0);
}
fn expm1_f(x: f32) -> f32 {
  let u = exp(x);
  if (u == 1.0) { return x; }
  let um1 = u - 1.0;
  if (um1 == -1.0) { return -1.0; }
  if (isinf_f(u) || isnan_f(x)) { return u; }
  return um1 * x / log(u);
}
// Abramowitz & Stegun 7.1.26, as in the CPU backend.
fn erf_f(x: f32) -> f32 {
  let s = select(1.0, -1.0, x < 0.0);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
fn tanh_f(x: f32) -> f32 {
  if (abs(x) > 10.0) { return select(-1.0, 1.0, x > 0.0); }
  let e = expm1_f(2.0 * x);
  return e / (e + 2.0);
}
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn sign_f(x: f32) -> f32 {
  if (isnan_f(x)) { return x; }
  return select(select(0.0, -1.0, x < 0.0), 1.0, x > 0.0);
}
fn max_f(a: f32, b: f32) -> f32 { if (isnan_f(a) || isnan_f(b)) { return nan_f(); } return select(b, a, a > b); }
fn min_f(a: f32, b: f32) -> f32 { if (isnan_f(a) || isnan_f(b)) { return nan_f(); } return select(b, a, a < b); }
fn is_odd_integer_f(b: f32) -> bool { return trunc(b) == b && abs(b) < 16777216.0 && (i32(b) & 1) == 1; }
// Math.pow semantics (negative bases with integer exponents, pow(x, 0) = 1, pow(±1, ±Inf) = NaN).
fn pow_f(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (isnan_f(a) || isnan_f(b)) { return nan_f(); }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  if (isinf_f(b)) {
    let m = abs(a);
    if (m == 1.0) { return nan_f(); }
    return select(0.0, inf_f(), (m > 1.0) == (b > 0.0));
  }
  let negative_result = a < 0.0 && is_odd_integer_f(b);
  if (a < 0.0 && trunc(b) != b && !isinf_f(a)) { return nan_f(); }
  let m = abs(a);
  var r: f32;
  if (m == 0.0) { r = select(inf_f(), 0.0, b > 0.0); }
  else if (isinf_f(m)) { r = select(0.0, inf_f(), b > 0.0); }
  else if (b == 0.5) { r = sqrt(m); }
  else { r = exp2(b * log2(m)); }
  return select(r, -r, negative_result || (bitcast<u32>(a) == 0x80000000u && is_odd_integer_f(b)));
}
fn pow_i(a: i32, b: i32) -> i32 {
  if (b < 0) {
    if (a == 1) { return 1; }
    if (a == -1) { return select(1, -1, (b & 1) != 0); }
    return 0;
  }
  var r = 1;
  var base = a;
  var e = b;
  loop {
    if (e == 0) { break; }
    if ((e & 1) != 0) { r = r * base; }
    e = e >> 1u;
    base = base * base;
  }
  return r;
}
fn div_i(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } return a / b; }
`;

/** WGSL expression converting stored bits `u` (a u32 expression) of `dtype` to `as`. */
export function load(dtype: DType, as: LoadAs, u: string): string {
  if (dtype === "float64") throw new Error("webgpu: float64 buffers are not supported");
  if (as === "bool") return dtype === "float32" ? `truthy_f(bitcast<f32>(${u}))` : `(${u} != 0u)`;
  if (dtype === "float32") return as === "f32" ? `bitcast<f32>(${u})` : `f2i(bitcast<f32>(${u}))`;
  if (dtype === "int32") return as === "i32" ? `bitcast<i32>(${u})` : `f32(bitcast<i32>(${u}))`;
  return as === "i32" ? `i32(${u})` : `f32(${u})`; // bool stored as 0/1
}

/** WGSL expression converting value `v` of scalar type `from` to the stored bits of `dtype`. */
export function store(dtype: DType, from: Scalar, v: string): string {
  if (dtype === "float32") return from === "f32" ? `bitcast<u32>(${v})` : `bitcast<u32>(f32(${v}))`;
  if (dtype === "int32") return from === "f32" ? `bitcast<u32>(f2i(${v}))` : `bitcast<u32>(${v})`;
  if (dtype === "bool") return from === "f32" ? `select(0u, 1u, truthy_f(${v}))` : `select(0u, 1u, (${v}) != 0)`;
  throw new Error("webgpu: float64 buffers are not supported");
}

/** Linear invocation index over a (possibly 2-D, past 65,535 workgroups) grid of 1-D workgroups. */
export const LINEAR_GROUP = "(wid.y * nwg.x + wid.x)";
export const ENTRY_BUILTINS =
  "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32";

/** Element types. `float64` exists on the CPU backend only, for gradcheck and references. */
export type DType = "float32" | "int32" | "bool" | "float64";
export const DTYPES: readonly DType[] = ["float32", "int32", "bool", "float64"];

export type TypedArray = Float32Array | Int32Array | Uint8Array | Float64Array;

export function arrayCtor(dtype: DType): Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor | Float64ArrayConstructor {
  switch (dtype) {
    case "float32": return Float32Array;
    case "int32": return Int32Array;
    case "bool": return Uint8Array;
    case "float64": return Float64Array;
  }
}

export function newArray(dtype: DType, size: number): TypedArray {
  return new (arrayCtor(dtype))(size);
}

export function bytesPer(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4;
}

export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

export function checkDType(dtype: string, op: string): DType {
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`${op}: unknown dtype '${dtype}' (expected one of ${DTYPES.join(", ")})`);
  }
  return dtype as DType;
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** NumPy-like promotion for arithmetic: bool < int32 < float32 < float64; bool arithmetic yields int32. */
export function promote(a: DType, b: DType): DType {
  const r = RANK[a] >= RANK[b] ? a : b;
  return r;
}

/** Result dtype of arithmetic on the promoted type (bool+bool counts as int32, like integer math). */
export function arithmeticDType(a: DType, b: DType): DType {
  const p = promote(a, b);
  return p === "bool" ? "int32" : p;
}

/** Result dtype of true division and of float-only math (exp, log, ...): ints and bools become float32. */
export function floatDType(d: DType): DType {
  return isFloat(d) ? d : "float32";
}

/** Convert a JS number into the value a dtype stores. */
export function coerce(v: number | boolean, dtype: DType): number {
  const n = typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (dtype === "bool") return n ? 1 : 0;
  if (dtype === "int32") return n | 0;
  return n;
}

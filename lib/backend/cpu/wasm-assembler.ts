/**
 * A small WebAssembly binary writer: enough of the format (types, one imported memory, functions,
 * exports, integer control flow and the SIMD128 float ops) to emit the CPU kernels from TypeScript
 * at load time, so no compiler or generated blob is needed in the repository.
 */

export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Plain opcodes (one byte). */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, i32Store: 0x36, f32Store: 0x38,
  i32Const: 0x41,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GeS: 0x4e,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32Shl: 0x74,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94,
} as const;

/** SIMD opcodes (after the 0xfd prefix, LEB-encoded). */
export const Simd = {
  v128Load: 0, v128Load32Splat: 9, v128Store: 11, v128Const: 12,
  i32x4Splat: 17, f32x4Splat: 19, f32x4ExtractLane: 31,
  f32x4Gt: 68, v128Bitselect: 82, i32x4Add: 174,
  f32x4Add: 228, f32x4Sub: 229, f32x4Mul: 230, f32x4Max: 233,
  /** Relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd): a·b + c, fused where the CPU has FMA. */
  f32x4RelaxedMadd: 0x105,
} as const;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function str(s: string): number[] {
  const bytes = [...Buffer.from(s, "utf8")];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Builds one function body; locals are numbered after the parameters. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly params: ValType[], readonly results: ValType[]) {}

  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  get(i: number): this { return this.op(Op.localGet, ...uleb(i)); }
  set(i: number): this { return this.op(Op.localSet, ...uleb(i)); }
  tee(i: number): this { return this.op(Op.localTee, ...uleb(i)); }
  i32(v: number): this { return this.op(Op.i32Const, ...sleb(v | 0)); }
  simd(op: number, ...imm: number[]): this { return this.op(0xfd, ...uleb(op), ...imm); }
  /** Memory access with a static byte offset; `alignLog2` is only a hint. */
  mem(opcode: number, offset: number, alignLog2: number): this {
    return this.op(opcode, ...uleb(alignLog2), ...uleb(offset));
  }
  simdMem(op: number, offset: number, alignLog2: number): this {
    return this.simd(op, ...uleb(alignLog2), ...uleb(offset));
  }
  /** local[i] += delta (i32). */
  addTo(i: number, delta: number): this {
    return this.get(i).i32(delta).op(Op.i32Add).set(i);
  }

  encode(): number[] {
    // Group consecutive locals of one type, as the format wants.
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]]);
      i = j;
    }
    const body = [...vec(groups), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

export interface ModuleSpec {
  /** Imports memory `env.memory`; shared memory needs a maximum. */
  memory: { initialPages: number; maximumPages?: number; shared?: boolean };
  functions: { name: string; fn: FunctionBuilder }[];
}

export function assembleModule(spec: ModuleSpec): Uint8Array {
  const section = (id: number, payload: number[]) => [id, ...uleb(payload.length), ...payload];
  const types = spec.functions.map(({ fn }) => [0x60, ...vec(fn.params.map((t) => [t])), ...vec(fn.results.map((t) => [t]))]);
  const { initialPages, maximumPages, shared } = spec.memory;
  const limits = shared
    ? [0x03, ...uleb(initialPages), ...uleb(maximumPages!)]
    : maximumPages === undefined
      ? [0x00, ...uleb(initialPages)]
      : [0x01, ...uleb(initialPages), ...uleb(maximumPages)];
  const memoryImport = [...str("env"), ...str("memory"), 0x02, ...limits];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([memoryImport])),
    ...section(3, vec(spec.functions.map((_, i) => uleb(i)))),
    ...section(7, vec(spec.functions.map(({ name }, i) => [...str(name), 0x00, ...uleb(i)]))),
    ...section(10, vec(spec.functions.map(({ fn }) => fn.encode()))),
  ];
  return Uint8Array.from(bytes);
}

/** The slice of the WebAssembly JS API the kernels use (tsconfig's ES2022 lib has no WebAssembly types). */
export interface WasmMemory { readonly buffer: ArrayBuffer | SharedArrayBuffer; grow(pages: number): number }
export interface WasmModule { readonly __wasmModule?: never }
export interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

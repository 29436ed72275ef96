/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend (Dawn through the `webgpu` npm package). Ops encode compute dispatches into a shared
 * command encoder without waiting; a read (or every PARAM_SLOTS dispatches) submits. Buffers come from a
 * size-bucketed pool; pipelines are cached by WGSL source; per-dispatch uniforms live in one arena that
 * is uploaded right before each submit.
 */
import type { Backend, BinaryOp, Buf, Conv2dParams, MatmulParams, OptimizerRule, Pool2dParams, ReduceOp, UnaryOp, View } from "../backend.js";
import { newArray, type DType, type TypedArray } from "../../dtype.js";
import { contiguousStrides, sizeOf } from "../../shape.js";
import { featuresDisabledNote, gpuContext, type GpuContext } from "./device.js";
import { BufferPool, bucketBytes as bufferBucketBytes } from "./buffer-pool.js";
import { idleWait } from "./idle-wait.js";
import { collectGarbage, noteBindGroupWithoutTurn, throwIfMappingLimitNear } from "./native-gc.js";
import { QueueThrottle } from "./queue-throttle.js";
import { DispatchTimer } from "./profiler.js";
import { PACK_HALF_SHADER, PACK_HALF_WORKGROUP, halfWords, matmulHalfKey, matmulHalfShader } from "./kernels/half.js";
import { BINARY_WGSL, MAP_WORKGROUP, MAX_DIMS, UNARY_WGSL, collapseDims, mapShader, opcode, pickExpr, tableBody, type MapInput } from "./kernels/elementwise.js";
import {
  CUMSUM_WORKGROUP, REDUCE_THREAD_WORKGROUP, cumsumShader, reduceEmptyValue, reduceOutDType, reducePartialWords, reducePlan, reduceShader, reduceVariantKey,
  type ReduceStyle, type ReduceVariant,
} from "./kernels/reduce.js";
import { MATMUL_DIRECT_TILE, MATMUL_TILE, matmulDirectShader, matmulShader, type MatmulA, type TiledShape } from "./kernels/matmul.js";
import {
  CHECK_INDICES_SHADER, FILL_SHADER, GATHER_SHADER, INDEX_STATUS_BINDING, INDEX_STATUS_WORDS, INDEX_WORKGROUP, scatterAddShader,
} from "./kernels/indexing.js";
import {
  CONV2D_GRAD_FILTER_SHADER, CONV2D_GRAD_INPUT_SHADER, CONV2D_SHADER, CONV_GEMM_TILE, CONV_WORKGROUP, POOL2D_GRAD_SHADER, POOL2D_SHADER, convGemmShader,
} from "./kernels/conv.js";
import type { LoadAs } from "./kernels/wgsl.js";
import { OPTIM_WORKGROUP, optimizerKey, optimizerParams, optimizerShader, optimizerStateCount } from "./kernels/optim.js";
import * as chunked from "./chunked.js";

// GPUBufferUsage / GPUMapMode bits (the `webgpu` package does not install them as globals).
const USAGE_MAP_READ = 0x1, USAGE_COPY_SRC = 0x4, USAGE_COPY_DST = 0x8, USAGE_UNIFORM = 0x40, USAGE_STORAGE = 0x80;
const MAP_MODE_READ = 0x1;

/** Uniform slots per arena: a submit happens at the latest when they run out. */
const PARAM_SLOTS = 256;
/** Bytes of uniforms a kernel may use (the largest, the map kernel, uses 208). */
const PARAM_BYTES = 256;
const MAX_WORKGROUPS_PER_DIM = 65535;
function parseTiledShape(spec: string | undefined): TiledShape | undefined {
  if (!spec) return undefined;
  const [per, tk] = spec.split(",").map(Number);
  if (![2, 4, 8].includes(per) || ![4, 8, 16, 32].includes(tk) || (tk * 16 * per) % 256 !== 0) {
    throw new Error(`DAWNET_WEBGPU_MATMUL_SHAPE='${spec}': expected 'per,tk' with per 2, 4 or 8 and tk 4, 8, 16 or 32 (tk·16·per a multiple of 256), e.g. '8,8'`);
  }
  return { per, tk };
}

/**
 * The tiled kernel's shape for an [m, n] × batch product. Measured on an H100 (queued f32 products,
 * GFLOP/s at 1024 / 2048 / 4096): 4×4 per invocation, K step 16: 11.1k / 16.8k / 18.5k; 4×4, K 8: 11.0k /
 * 17.8k / 20.0k; 8×8, K 8: 8.0k / 23.1k / 25.4k. 128-wide tiles win once there are enough of them to fill
 * the GPU and both sides fill a tile; narrower products keep 64-wide tiles.
 */
export function tiledShapeFor(m: number, n: number, batch: number): TiledShape {
  const bigTiles = Math.ceil(m / 128) * Math.ceil(n / 128) * batch;
  return m >= 128 && n >= 128 && bigTiles >= 256 ? { per: 8, tk: 8 } : { per: 4, tk: 8 };
}

/** Split-K slices are multiples of the tiled kernel's K step. */
const SPLIT_K_ALIGN = 16;

/**
 * How many K slices an implicit GEMM with `tiles` output tiles should run as: enough workgroups to fill a
 * GPU (`target`, about 2 per SM on a large one), each slice at least 512 deep (partial sums cost an extra
 * pass over slices·m·n floats), and the partial block within one binding. 1 means no split.
 */
export function splitKSlices(tiles: number, k: number, mn: number, maxBindingBytes: number, target: number): number {
  if (target <= 0 || tiles >= target) return 1;
  const byDepth = Math.floor(k / 512);
  const byMemory = Math.floor(maxBindingBytes / 4 / Math.max(1, mn));
  return Math.max(1, Math.min(Math.ceil(target / tiles), byDepth, byMemory, MAX_WORKGROUPS_PER_DIM));
}
/** DAWNET_WEBGPU_TRACE=1 logs every dispatch to stderr (debugging crashes inside the driver). */
const TRACE = !!process.env.DAWNET_WEBGPU_TRACE;
/** DAWNET_WEBGPU_DIRECT_CONV=1 uses the direct conv/filter-grad kernels instead of the implicit GEMMs (to compare). */
const DIRECT_CONV = !!process.env.DAWNET_WEBGPU_DIRECT_CONV;
/** Every 32-bit dtype (bool is stored as u32 0/1). */
const BYTES_PER_ELEMENT = 4;

/** Bind groups kept for reuse; the cache starts over when full. */
const MAX_CACHED_BIND_GROUPS = 512;
/** Created bind groups between forced full GCs (native-gc.ts). A full GC took ~30 ms in a notebook-sized heap: ~1% of a lavapipe fit. */
const BIND_GROUPS_PER_GC = 8192;
const SHADER_STAGE_COMPUTE = 0x4;

interface Kernel { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; layoutSize: number; writable: number; id: number; checksIndices: boolean }

/**
 * Where a kernel reads an index tensor, for the error raised when one of its indices is out of range.
 * `op` is the user-facing op; the shapes and axis, when given, make the message name them.
 */
export interface IndexSite {
  op: string; axis?: number; inputShape?: readonly number[]; indexShape?: readonly number[];
  /** Where the dispatch's indices start in the op's index tensor (pieces of a split gather, chunked.ts). */
  indexStart?: number;
}
/** Index-checked dispatches remembered between reads; past this the oldest lose their details (not the check). */
const MAX_INDEX_SITES = 1 << 16;

/** A whole buffer, or a window of one (tensors larger than maxStorageBufferBindingSize are bound in windows). */
type Binding = GPUBuffer | { buffer: GPUBuffer; offset: number; size: number };

/** One index-checked dispatch: its site and the kernel's view of the source ([outer, axisSize, inner], nIdx indices). */
interface IndexCheck { site: IndexSite; axisSize: number; outer: number; inner: number; nIdx: number }

/** The error for a bad index found on the device, worded like the CPU backend's check (which throws at once). */
function indexError(check: IndexCheck | undefined, tag: number, value: number, position: number): RangeError {
  if (!check) {
    return new RangeError(`webgpu: index ${value} at position ${position} is out of range in index-checked dispatch #${tag} ` +
      `(its details were dropped: more than ${MAX_INDEX_SITES} such dispatches ran without a read) — detected on the GPU at the next read; check the index tensors' ranges`);
  }
  const { site, axisSize, outer, inner, nIdx } = check;
  position += site.indexStart ?? 0;
  const shape = (s: readonly number[]) => `[${s.join(",")}]`;
  const named = [
    ...(site.inputShape ? [`${site.axis !== undefined ? `axis ${site.axis} of ` : ""}input ${shape(site.inputShape)}`] : []),
    ...(site.indexShape ? [`indices ${shape(site.indexShape)}`] : []),
  ];
  const where = named.length ? named.join(", ") : `input seen as [outer, axis, inner] = ${shape([outer, axisSize, inner])}, ${nIdx} indices`;
  return new RangeError(`${site.op}: index ${value} at position ${position} is out of range for an axis of size ${axisSize} (${where}) — ` +
    `detected on the GPU at the next read; indices must be in [0, ${axisSize}): fix or clip the index tensor`);
}

class WebGPUBuf {
  /** `byteOffset`/`isWindow`: a window into another tensor's buffer (chunked.ts binds pieces of large tensors without copying). */
  constructor(public buffer: GPUBuffer | null, readonly elements: number, readonly byteOffset = 0, readonly isWindow = false) {}
}

function checkDType(dtype: DType, op: string): void {
  if (dtype === "float64") {
    throw new TypeError(`webgpu ${op}: float64 is not supported on the webgpu backend; use the cpu backend (setBackend("cpu")) for float64`);
  }
}

/** Workgroup grid for `groups` 1-D workgroups: 2-D once past 65,535 (shaders linearize wid.y * nwg.x + wid.x). */
function grid(groups: number): [number, number] {
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y];
}

/** Lowest and highest buffer element a strided view touches. */
function elementRange(shape: readonly number[], strides: readonly number[], offset: number): [number, number] {
  let lo = offset, hi = offset;
  for (let d = 0; d < shape.length; d++) {
    const span = (shape[d] - 1) * strides[d];
    if (span < 0) lo += span;
    else hi += span;
  }
  return [lo, hi];
}

export class WebGPUBackend implements Backend {
  readonly name = "webgpu";
  readonly adapterDescription: string;
  /** A CPU renderer (lavapipe, SwiftShader, a fallback adapter): ready() prefers the cpu backend over it. */
  readonly isSoftwareAdapter: boolean;
  /** Which matmul/conv GEMM kernel runs (DAWNET_WEBGPU_MATMUL=tiled|direct overrides the adapter-based choice). */
  readonly matmulVariant: "tiled" | "direct";
  private readonly device: GPUDevice;
  private readonly storage: BufferPool;
  private readonly staging: BufferPool;
  private readonly kernels = new Map<string, Kernel>();
  private readonly kernelsBySource = new Map<string, Kernel>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly layouts = new Map<number, GPUBindGroupLayout>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  /** Bytes one storage binding may cover (DAWNET_WEBGPU_MAX_BINDING_BYTES lowers it for tests); larger tensors go through chunked.ts. */
  readonly maxBindingBytes: number;
  /** minStorageBufferOffsetAlignment in elements (windows into large buffers start at multiples of it). */
  readonly bindingAlignElements: number;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly paramArena = new ArrayBuffer(PARAM_SLOTS * PARAM_BYTES);
  private readonly paramU32 = new Uint32Array(this.paramArena);
  private readonly paramF32 = new Float32Array(this.paramArena);
  private paramSlotsUsed = 0;
  private readonly paramBuffer: GPUBuffer;
  /** Bounds the work queued ahead of the GPU (queue-throttle.ts). */
  readonly throttle: QueueThrottle;
  /** Reads in flight keep their buffers strongly referenced (a collected wrapper aborts mapAsync). */
  private readonly inflight = new Set<unknown>();
  /** Device-side index checks: [tag of the first dispatch that saw a bad index (0 = none), the index, its position, 0]. */
  private readonly indexStatus: GPUBuffer;
  /** Index-checked dispatches encoded since the status was last read: tag → what to name in the error. */
  private indexChecks = new Map<number, IndexCheck>();
  private nextIndexTag = 1;
  /** Dispatches encoded and bind groups created since creation (benchmarks, cache checks). */
  dispatches = 0;
  bindGroupsCreated = 0;
  /** Reductions combine with subgroup operations (on when the device has `subgroups`; see useSubgroups). */
  private subgroups: boolean;
  /** Reduction plans for GPUs or for software adapters (DAWNET_WEBGPU_REDUCE=workgroup|thread overrides; tests switch it). */
  reduceStyle: ReduceStyle;
  /**
   * Outputs per invocation and K step of the tiled matmul; undefined: chosen per product (tiledShapeFor).
   * DAWNET_WEBGPU_MATMUL_SHAPE=per,tk (e.g. 8,8) forces one, to compare.
   */
  tiledShape: TiledShape | undefined = parseTiledShape(process.env.DAWNET_WEBGPU_MATMUL_SHAPE);
  /** Workgroups an implicit GEMM aims for before it splits K (0: never split; DAWNET_WEBGPU_SPLIT_K sets it; tests too). */
  splitKTarget: number;
  /** Set while webgpuProfile runs: dispatches get their own timed passes. */
  private timer: DispatchTimer | null = null;
  /** matmulHalf binds packed operands as array<f16> (see useShaderF16). */
  private nativeF16: boolean;

  constructor(private readonly ctx: GpuContext) {
    this.device = ctx.device;
    const forced = process.env.DAWNET_WEBGPU_MATMUL;
    this.matmulVariant = forced === "tiled" || forced === "direct" ? forced : ctx.isSoftware ? "direct" : "tiled";
    this.adapterDescription = ctx.adapterDescription;
    this.isSoftwareAdapter = ctx.isSoftware;
    this.subgroups = ctx.features.has("subgroups");
    this.nativeF16 = ctx.features.has("shader-f16");
    const reduceForced = process.env.DAWNET_WEBGPU_REDUCE;
    this.reduceStyle = reduceForced === "workgroup" || reduceForced === "thread" ? reduceForced : ctx.isSoftware ? "thread" : "workgroup";
    const splitForced = process.env.DAWNET_WEBGPU_SPLIT_K;
    this.splitKTarget = splitForced !== undefined && splitForced !== "" && Number.isFinite(Number(splitForced)) ? Number(splitForced) : ctx.isSoftware ? 0 : 256;
    this.maxBindingBytes = chunked.bindingLimitBytes(this.device.limits.maxStorageBufferBindingSize, this.device.limits.minStorageBufferOffsetAlignment);
    this.bindingAlignElements = this.device.limits.minStorageBufferOffsetAlignment / BYTES_PER_ELEMENT;
    this.storage = new BufferPool(this.device, USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST, 1 << 30, "dawnet tensor", () => this.bindGroups.clear());
    this.staging = new BufferPool(this.device, USAGE_MAP_READ | USAGE_COPY_DST, 64 << 20, "dawnet readback");
    this.throttle = new QueueThrottle(this.device);
    this.paramBuffer = this.device.createBuffer({ size: this.paramArena.byteLength, usage: USAGE_UNIFORM | USAGE_COPY_DST, label: "dawnet params" });
    // Created zeroed (WebGPU clears new buffers): no bad index seen yet.
    this.indexStatus = this.device.createBuffer({ size: INDEX_STATUS_WORDS * 4, usage: USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST, label: "dawnet index status" });
  }

  /** Optional WebGPU features this device has (DAWNET_WEBGPU_DISABLE_FEATURES removes them at device creation). */
  get features(): ReadonlySet<string> {
    return this.ctx.features;
  }

  /** Turns the subgroup path of reductions on or off (both give CPU-equal results; for comparisons and tests). */
  useSubgroups(on: boolean): void {
    if (on && !this.ctx.features.has("subgroups")) {
      throw new Error(`webgpu useSubgroups: this device has no 'subgroups' feature (adapter '${this.adapterDescription}'${featuresDisabledNote()})`);
    }
    this.subgroups = on;
  }

  get usesSubgroups(): boolean {
    return this.subgroups;
  }

  /** Half-precision matmul operands bind as array<f16> (on when the device has `shader-f16`) instead of unpacking words. */
  useShaderF16(on: boolean): void {
    if (on && !this.ctx.features.has("shader-f16")) {
      throw new Error(`webgpu useShaderF16: this device has no 'shader-f16' feature (adapter '${this.adapterDescription}'${featuresDisabledNote()})`);
    }
    this.nativeF16 = on;
  }

  get usesShaderF16(): boolean {
    return this.nativeF16;
  }

  /** float32 → packed float16 (two per 32-bit word; NaN stays NaN, magnitudes from 65520 on become ±Inf): an operand for matmulHalf. */
  packHalf(x: Buf, n: number): Buf {
    this.checkDevice("packHalf");
    const out = this.alloc(halfWords(n), "int32");
    if (n === 0) return out;
    // An input past one binding (a big batch whose packed copy may still fit) is packed in windows that start at
    // aligned element pairs, so both the input and the output window offsets are aligned.
    const pairAlign = 2 * this.bindingAlignElements;
    const chunk = Math.floor(this.maxBindingBytes / BYTES_PER_ELEMENT / pairAlign) * pairAlign;
    for (let start = 0; start < n; start += chunk) {
      const len = Math.min(chunk, n - start);
      const xw = this.windowFor(x, start, start + len - 1, "packHalf")!, ow = this.windowFor(out, start / 2, start / 2 + halfWords(len) - 1, "packHalf")!;
      const [gx, gy] = grid(Math.ceil(halfWords(len) / PACK_HALF_WORKGROUP));
      this.dispatch("packHalf", this.kernel("packHalf", () => PACK_HALF_SHADER), [len, start - xw.base, start / 2 - ow.base, 0], [ow.binding, xw.binding], [gx, gy]);
    }
    return out;
  }

  /** float32 matmul whose A and/or B are packed float16 (packHalf), read by the same kernels, accumulating in float32. */
  matmulHalf(a: Buf, b: Buf, p: MatmulParams, half: { a: boolean; b: boolean }): Buf {
    this.checkDevice("matmulHalf");
    // Unsplit (no chunked path): refuse operands or an output past one binding before allocating anything.
    this.gpu(a, "matmulHalf");
    this.gpu(b, "matmulHalf");
    if (p.batch * p.m * p.n * BYTES_PER_ELEMENT > this.maxBindingBytes) {
      throw new RangeError(`webgpu matmulHalf: the [${p.batch}, ${p.m}, ${p.n}] output exceeds this device's maxStorageBufferBindingSize (${this.maxBindingBytes} bytes); matmulHalf does not split it: use matmul, or smaller batches`);
    }
    const out = this.alloc(p.batch * p.m * p.n, "float32");
    if (p.batch * p.m * p.n === 0) return out;
    if (p.k === 0) {
      this.free(out);
      return this.fill(p.batch * p.m * p.n, "float32", 0);
    }
    const variant = { kernel: this.matmulVariant, aHalf: half.a, bHalf: half.b, nativeF16: this.nativeF16 };
    const kernel = this.kernel(matmulHalfKey(variant), () => matmulHalfShader(variant));
    const tile = this.matmulVariant === "direct" ? MATMUL_DIRECT_TILE : MATMUL_TILE;
    const gx = Math.ceil(p.n / tile), gy = Math.ceil(p.m / tile);
    if (gx > MAX_WORKGROUPS_PER_DIM || gy > MAX_WORKGROUPS_PER_DIM || p.batch > MAX_WORKGROUPS_PER_DIM) {
      throw new RangeError(`webgpu matmulHalf: [${p.m}, ${p.k}] @ [${p.k}, ${p.n}] x ${p.batch} needs more than ${MAX_WORKGROUPS_PER_DIM} tiles along a side or batches`);
    }
    this.dispatch("matmulHalf", kernel, [p.m, p.n, p.k, p.aBatchStride, p.bBatchStride, p.transA ? 1 : 0, p.transB ? 1 : 0, 0],
      [this.gpu(out, "matmulHalf"), this.gpu(a, "matmulHalf"), this.gpu(b, "matmulHalf")], [gx, gy, p.batch]);
    return out;
  }

  /** Starts timing every dispatch (webgpuProfile in profiler.ts; needs `timestamp-query`). */
  startTiming(): DispatchTimer {
    if (this.timer) throw new Error("webgpuProfile: a profile is already running (profiles do not nest)");
    if (!this.ctx.features.has("timestamp-query")) throw new Error(`webgpuProfile: this device has no 'timestamp-query' feature${featuresDisabledNote()}`);
    this.flush(); // work encoded before the profile stays untimed
    this.timer = new DispatchTimer(this.device, PARAM_SLOTS);
    return this.timer;
  }

  /** Submits what the profile encoded (resolving its timestamps) and turns timing off. */
  stopTiming(timer: DispatchTimer): void {
    if (this.timer !== timer) return;
    this.flush();
    this.timer = null;
  }

  // ---------------------------------------------------------------- device state, encoding, submission

  private checkDevice(op: string): void {
    if (this.ctx.lostReason !== undefined) {
      throw new Error(`webgpu ${op}: the GPU device was lost (${this.ctx.lostReason}); tensors on it are gone: restart the process, or setBackend("cpu")`);
    }
    throwIfMappingLimitNear(op);
  }

  private takeUncapturedErrors(op: string): void {
    if (this.ctx.uncapturedErrors.length === 0) return;
    const errors = this.ctx.uncapturedErrors.splice(0);
    throw new Error(`webgpu ${op}: the device reported ${errors.length} error(s) in queued work: ${errors.join(" | ")}`);
  }

  /** The compiled kernel for `key` (a short name of the shader's variant); `makeCode` runs on a miss. */
  private kernel(key: string, makeCode: () => string): Kernel {
    let k = this.kernels.get(key);
    if (!k) {
      const code = makeCode();
      // Variants with equal WGSL share one pipeline (the cache is by source).
      k = this.kernelsBySource.get(code);
      if (!k) {
        // Kernels that read index tensors also bind the status buffer (at INDEX_STATUS_BINDING).
        const checksIndices = code.includes(`@binding(${INDEX_STATUS_BINDING})`);
        const storageBindings = (code.match(/var<storage/g) ?? []).length - (checksIndices ? 1 : 0);
        // Bindings 1..writable are read_write (one output, or an output plus state updated in place: kernels/optim.ts).
        const writable = Math.max(1, (code.match(/var<storage, read_write>/g) ?? []).length - (checksIndices ? 1 : 0));
        const layout = this.bindGroupLayout(storageBindings, checksIndices, writable);
        const module = this.device.createShaderModule({ code, label: `dawnet ${key}` });
        const pipeline = this.device.createComputePipeline({
          layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
          compute: { module, entryPoint: "main" },
          label: `dawnet ${key}`,
        });
        k = { pipeline, layout, layoutSize: storageBindings, writable, id: this.kernelsBySource.size, checksIndices };
        this.kernelsBySource.set(code, k);
      }
      this.kernels.set(key, k);
    }
    return k;
  }

  /** Every kernel binds its uniforms at 0 (dynamic offset into the arena), its output at 1, inputs at 2.. */
  private bindGroupLayout(storageBindings: number, checksIndices: boolean, writable = 1): GPUBindGroupLayout {
    const layoutKey = storageBindings + (checksIndices ? 100 : 0) + (writable - 1) * 1000;
    let layout = this.layouts.get(layoutKey);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: SHADER_STAGE_COMPUTE, buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: PARAM_BYTES } }];
      for (let i = 0; i < storageBindings; i++) {
        entries.push({ binding: i + 1, visibility: SHADER_STAGE_COMPUTE, buffer: { type: i < writable ? "storage" : "read-only-storage" } });
      }
      if (checksIndices) entries.push({ binding: INDEX_STATUS_BINDING, visibility: SHADER_STAGE_COMPUTE, buffer: { type: "storage" } });
      layout = this.device.createBindGroupLayout({ entries, label: `dawnet ${storageBindings} storage buffers${checksIndices ? " + index status" : ""}` });
      this.layouts.set(layoutKey, layout);
    }
    return layout;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }

  /** Bind groups recur in loops (pooled buffers come back in the same order): reuse them instead of re-creating. */
  private bindGroup(op: string, kernel: Kernel, buffers: Binding[]): GPUBindGroup {
    let key = `${kernel.layoutSize}w${kernel.writable}${kernel.checksIndices ? "s" : ""}`;
    for (const b of buffers) key += "buffer" in b ? `:${this.bufferId(b.buffer)}@${b.offset}+${b.size}` : `:${this.bufferId(b)}`;
    let group = this.bindGroups.get(key);
    if (group) {
      // Move to the back: the Map's insertion order doubles as least-recently-used order.
      this.bindGroups.delete(key);
    } else {
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.delete(this.bindGroups.keys().next().value!);
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.paramBuffer, offset: 0, size: PARAM_BYTES } }];
      buffers.forEach((b, k) =>
        entries.push({ binding: k + 1, resource: "buffer" in b ? b : { buffer: b, offset: 0, size: Math.min(b.size, this.maxBindingBytes) } }));
      if (kernel.checksIndices) entries.push({ binding: INDEX_STATUS_BINDING, resource: { buffer: this.indexStatus } });
      group = this.device.createBindGroup({ layout: kernel.layout, entries });
      if (++this.bindGroupsCreated % BIND_GROUPS_PER_GC === 0) collectGarbage();
      noteBindGroupWithoutTurn(op);
    }
    this.bindGroups.set(key, group);
    return group;
  }

  /** Ends the open compute pass (needed before copies). */
  private endPass(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    this.encoder ??= this.device.createCommandEncoder({ label: "dawnet batch" });
    return this.encoder;
  }

  /** Submits everything encoded so far (uniforms first). */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    const startTimestampRead = this.timer?.resolve(this.encoder);
    if (this.paramSlotsUsed > 0) this.device.queue.writeBuffer(this.paramBuffer, 0, this.paramArena, 0, this.paramSlotsUsed * PARAM_BYTES);
    const fence = this.throttle.beforeSubmit(this.encoder, this.dispatches);
    this.device.queue.submit([this.encoder.finish()]);
    startTimestampRead?.();
    this.encoder = null;
    this.paramSlotsUsed = 0;
    this.throttle.afterSubmit(fence); // may wait for older work: a loop that never awaits stays a bounded way ahead
  }

  /**
   * Encodes one dispatch. `params` are the kernel's uniform words (numbers are stored as u32 bits, except
   * the indices listed in `floatWords`, stored as f32). Buffers bind at 1.. (output first).
   */
  private dispatch(op: string, kernel: Kernel, params: number[], buffers: Binding[], groups: [number, number, number?], floatWords: number[] = []): void {
    this.checkDevice(op);
    if (TRACE) process.stderr.write(`webgpu dispatch ${op} [${groups.join(", ")}]\n`);
    if (this.paramSlotsUsed === PARAM_SLOTS) this.flush();
    const slot = this.paramSlotsUsed++;
    const base = (slot * PARAM_BYTES) / 4;
    for (let i = 0; i < params.length; i++) this.paramU32[base + i] = params[i] >>> 0;
    for (const i of floatWords) this.paramF32[base + i] = params[i];
    const bindGroup = this.bindGroup(op, kernel, buffers);
    if (this.timer) this.endPass(); // profiling: every dispatch in its own timed pass
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder({ label: "dawnet batch" });
      this.pass = this.encoder.beginComputePass(this.timer?.passFor(op));
    }
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup, [slot * PARAM_BYTES]);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2] ?? 1);
    this.dispatches++;
  }

  /** The buffer of a tensor a kernel binds whole (it must fit one storage binding). */
  private gpu(buf: Buf, op: string): Binding {
    if ((buf as WebGPUBuf).isWindow) return this.windowBinding(buf as WebGPUBuf, op);
    const b = this.gpuAny(buf, op);
    const bytes = (buf as WebGPUBuf).elements * BYTES_PER_ELEMENT;
    if (bytes > this.maxBindingBytes) {
      throw new RangeError(
        `webgpu ${op}: a tensor of ${(buf as WebGPUBuf).elements} elements (${bytes} bytes) exceeds this device's maxStorageBufferBindingSize ` +
          `(${this.maxBindingBytes} bytes) and this kernel does not split it (the Backend kernels do, through chunked.ts): ` +
          `process it in smaller pieces (batches) or use the cpu backend`,
      );
    }
    return b;
  }

  /** Whether a kernel cannot bind this buffer whole (the call goes through chunked.ts). */
  private pastBinding(buf: Buf): boolean {
    return (buf as WebGPUBuf).elements * BYTES_PER_ELEMENT > this.maxBindingBytes;
  }

  bufferElements(buf: Buf): number {
    return (buf as WebGPUBuf).elements;
  }

  /** Copies elements [srcStart, srcStart + elements) of `src` to `dst` at `dstStart` with a buffer copy (no binding: any size or offset; chunked.ts). */
  copyRange(src: Buf, srcStart: number, dst: Buf, dstStart: number, elements: number): void {
    this.checkDevice("copyRange");
    if (elements === 0) return;
    const from = this.gpuAny(src, "copyRange"), to = this.gpuAny(dst, "copyRange");
    this.endPass().copyBufferToBuffer(from, srcStart * BYTES_PER_ELEMENT, to, dstStart * BYTES_PER_ELEMENT, elements * BYTES_PER_ELEMENT);
  }

  /**
   * Elements [start, start + elements) of `buf` as a buffer that kernels bind in place (chunked.ts), or
   * undefined when the start is not at minStorageBufferOffsetAlignment. Only kernels other than the
   * elementwise/copy/gather ones may take it; it is never freed (the tensor owns the storage).
   */
  windowOf(buf: Buf, start: number, elements: number): Buf | undefined {
    const b = buf as WebGPUBuf;
    if (b.isWindow || start % this.bindingAlignElements !== 0 || elements * BYTES_PER_ELEMENT > this.maxBindingBytes) return undefined;
    return new WebGPUBuf(this.gpuAny(buf, "window"), elements, start * BYTES_PER_ELEMENT, true);
  }

  private windowBinding(w: WebGPUBuf, op: string): Binding {
    if (!w.buffer) throw new Error(`webgpu ${op}: the buffer was already freed (a disposed tensor was used)`);
    return { buffer: w.buffer, offset: w.byteOffset, size: Math.max(w.elements, 1) * BYTES_PER_ELEMENT };
  }

  private gpuAny(buf: Buf, op: string): GPUBuffer {
    const b = (buf as WebGPUBuf).buffer;
    if (!b) throw new Error(`webgpu ${op}: the buffer was already freed (a disposed tensor was used)`);
    if ((buf as WebGPUBuf).isWindow) throw new Error(`webgpu ${op}: internal error: a window buffer from windowOf reached an op that binds whole buffers`);
    return b;
  }

  /**
   * A binding covering elements [lo, hi] of `buf` and the element index its window starts at, or undefined
   * when the range is wider than one binding can be.
   */
  private windowFor(buf: Buf, lo: number, hi: number, op: string): { binding: Binding; base: number } | undefined {
    const buffer = this.gpuAny(buf, op);
    if (buffer.size <= this.maxBindingBytes) return { binding: buffer, base: 0 };
    const align = this.device.limits.minStorageBufferOffsetAlignment / BYTES_PER_ELEMENT;
    const base = Math.floor(lo / align) * align;
    const size = Math.floor(Math.min(buffer.size - base * BYTES_PER_ELEMENT, this.maxBindingBytes) / 4) * 4;
    if ((hi - base + 1) * BYTES_PER_ELEMENT > size) return undefined;
    return { binding: { buffer, offset: base * BYTES_PER_ELEMENT, size }, base };
  }

  // ---------------------------------------------------------------- storage

  alloc(size: number, dtype: DType): Buf {
    checkDType(dtype, "alloc");
    this.checkDevice("alloc");
    const bytes = Math.max(size, 1) * BYTES_PER_ELEMENT;
    const maxBuffer = this.device.limits.maxBufferSize;
    if (bufferBucketBytes(bytes) > maxBuffer) {
      throw new RangeError(
        `webgpu alloc: a tensor of ${size} elements (${bytes} bytes) exceeds this device's maxBufferSize ` +
          `(${maxBuffer} bytes): split the tensor (smaller batches) or use the cpu backend`,
      );
    }
    return new WebGPUBuf(this.storage.acquire(bytes), size);
  }

  upload(data: TypedArray, dtype: DType): Buf {
    checkDType(dtype, "upload");
    const n = data.length;
    const buf = this.alloc(n, dtype) as WebGPUBuf;
    if (n === 0) return buf;
    let words: Float32Array | Int32Array | Uint32Array;
    if (dtype === "float32") words = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    else if (dtype === "int32") words = data instanceof Int32Array ? data : Int32Array.from(data as ArrayLike<number>, (v) => v | 0);
    else words = Uint32Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
    // The buffer may come from the pool while queued commands still use its previous contents: those
    // commands must be submitted before writeBuffer (which runs ahead of unsubmitted work).
    this.flush();
    this.device.queue.writeBuffer(buf.buffer!, 0, words.buffer, words.byteOffset, n * BYTES_PER_ELEMENT);
    return buf;
  }

  async read(buf: Buf, dtype: DType, size: number): Promise<TypedArray> {
    checkDType(dtype, "read");
    this.checkDevice("read");
    const out = newArray(dtype, size);
    if (size === 0) return out;
    const source = this.gpuAny(buf, "read"); // a copy, not a binding: any size
    const bytes = size * BYTES_PER_ELEMENT;
    // The index status rides along in the same copy and submit when index-checked work ran since the last read.
    const statusBytes = this.indexChecks.size > 0 ? INDEX_STATUS_WORDS * 4 : 0;
    const staging = this.staging.acquire(bytes + statusBytes);
    const encoder = this.endPass();
    encoder.copyBufferToBuffer(source, 0, staging, 0, bytes);
    const checks = this.captureIndexStatus(encoder, staging, bytes);
    this.flush();
    const keep = { staging, source, device: this.device };
    this.inflight.add(keep);
    try {
      await idleWait(staging.mapAsync(MAP_MODE_READ, 0, bytes + statusBytes));
    } catch (e) {
      this.checkDevice("read");
      throw new Error(`webgpu read: mapping the readback buffer failed: ${(e as Error).message}`);
    } finally {
      this.inflight.delete(keep);
    }
    const mapped = staging.getMappedRange(0, bytes + statusBytes);
    if (dtype === "float32") (out as Float32Array).set(new Float32Array(mapped, 0, size));
    else if (dtype === "int32") (out as Int32Array).set(new Int32Array(mapped, 0, size));
    else (out as Uint8Array).set(new Uint32Array(mapped, 0, size));
    const status = checks && new Uint32Array(mapped, bytes, INDEX_STATUS_WORDS).slice();
    staging.unmap();
    this.staging.release(staging);
    this.takeUncapturedErrors("read");
    if (checks) this.throwIndexStatus(checks, status!);
    return out;
  }

  free(buf: Buf): void {
    const b = buf as WebGPUBuf;
    if (!b.buffer) return;
    if (b.isWindow) {
      b.buffer = null; // the storage belongs to the tensor it is a window of
      return;
    }
    this.storage.release(b.buffer);
    b.buffer = null;
  }

  memory() {
    return { bytes: this.storage.liveBytes + this.storage.pooledBytes, buffers: this.storage.liveBuffers, pooledBytes: this.storage.pooledBytes };
  }

  /** Releases pooled (unused) GPU buffers. */
  trimPool(): void {
    this.storage.trim();
    this.staging.trim();
  }

  async sync(): Promise<void> {
    this.checkDevice("sync");
    if (this.indexChecks.size > 0) return this.readIndexStatus();
    this.flush();
    const keep = { device: this.device };
    this.inflight.add(keep);
    try {
      await idleWait(this.device.queue.onSubmittedWorkDone());
    } finally {
      this.inflight.delete(keep);
    }
    this.checkDevice("sync");
    this.takeUncapturedErrors("sync");
  }

  // ---------------------------------------------------------------- device-side index checks

  /** A fresh tag for an index-checked dispatch, remembered with what its error would name. */
  private indexTag(site: IndexSite, axisSize: number, outer: number, inner: number, nIdx: number): number {
    const tag = this.nextIndexTag;
    this.nextIndexTag = tag >= 0xffffffff ? 1 : tag + 1;
    if (this.indexChecks.size >= MAX_INDEX_SITES) this.indexChecks.delete(this.indexChecks.keys().next().value!);
    this.indexChecks.set(tag, { site, axisSize, outer, inner, nIdx });
    return tag;
  }

  /**
   * Encodes a copy of the index status into `staging` at `offset`, then clears it (in queue order, so later
   * dispatches report into a clean status); returns the checks the copy covers, or undefined when none ran.
   */
  private captureIndexStatus(encoder: GPUCommandEncoder, staging: GPUBuffer, offset: number): Map<number, IndexCheck> | undefined {
    if (this.indexChecks.size === 0) return undefined;
    const checks = this.indexChecks;
    this.indexChecks = new Map();
    encoder.copyBufferToBuffer(this.indexStatus, 0, staging, offset, INDEX_STATUS_WORDS * 4);
    encoder.clearBuffer(this.indexStatus);
    return checks;
  }

  private throwIndexStatus(checks: Map<number, IndexCheck>, status: Uint32Array): void {
    const tag = status[0];
    if (tag === 0) return;
    throw indexError(checks.get(tag), tag, status[1] | 0, status[2]);
  }

  /** sync() when index-checked work is queued: reading the status also waits for everything before it. */
  private async readIndexStatus(): Promise<void> {
    const bytes = INDEX_STATUS_WORDS * 4;
    const staging = this.staging.acquire(bytes);
    const checks = this.captureIndexStatus(this.endPass(), staging, 0)!;
    this.flush();
    const keep = { staging, device: this.device };
    this.inflight.add(keep);
    try {
      await idleWait(staging.mapAsync(MAP_MODE_READ, 0, bytes));
    } catch (e) {
      this.checkDevice("sync");
      throw new Error(`webgpu sync: mapping the index-status readback failed: ${(e as Error).message}`);
    } finally {
      this.inflight.delete(keep);
    }
    const status = new Uint32Array(staging.getMappedRange(0, bytes)).slice();
    staging.unmap();
    this.staging.release(staging);
    this.checkDevice("sync");
    this.takeUncapturedErrors("sync");
    this.throwIndexStatus(checks, status);
  }

  /**
   * Checks idx[0 .. n) against [0, axisSize) on the device, for ops that use an index tensor without
   * gathering through it (oneHot, sparse labels): a bad index raises at the next read, like gather's.
   */
  checkIndices(idx: Buf, n: number, axisSize: number, site: IndexSite): void {
    this.checkDevice(site.op);
    if (n === 0) return;
    const tag = this.indexTag(site, axisSize, 1, 1, n);
    const [gx, gy] = grid(Math.ceil(n / INDEX_WORKGROUP));
    this.dispatch(`checkIndices (${site.op})`, this.kernel("checkIndices", () => CHECK_INDICES_SHADER), [n, axisSize, tag, 0], [this.gpu(idx, site.op)], [gx, gy]);
  }

  // ---------------------------------------------------------------- elementwise

  fill(size: number, dtype: DType, value: number): Buf {
    this.checkDevice("fill");
    checkDType(dtype, "fill");
    const out = this.alloc(size, dtype);
    if (size === 0) return out;
    let bits: number;
    if (dtype === "float32") bits = new Uint32Array(new Float32Array([value]).buffer)[0];
    else if (dtype === "int32") bits = value | 0;
    else bits = value ? 1 : 0;
    const chunk = Math.floor(this.maxBindingBytes / BYTES_PER_ELEMENT / this.bindingAlignElements) * this.bindingAlignElements; // keeps window offsets aligned
    for (let start = 0; start < size; start += chunk) {
      const n = Math.min(chunk, size - start);
      const w = this.windowFor(out, start, start + n - 1, "fill")!;
      const [gx, gy] = grid(Math.ceil(n / INDEX_WORKGROUP));
      this.dispatch("fill", this.kernel("fill", () => FILL_SHADER), [n, bits, start - w.base, 0], [w.binding], [gx, gy]);
    }
    return out;
  }

  /**
   * out (strided region of `outBuf`) = r over `views` loaded as `inputs`, where `body` computes r: one
   * expression ("x0"), or a whole op table selected by `code` (see tableBody). All views share `shape`.
   */
  private map(op: string, shape: readonly number[], views: View[], inputs: MapInput[], body: { expr: string } | { table: "unary" | "binary"; code: number },
    exprType: "f32" | "i32", outBuf: Buf, outDtype: DType, out: { strides: readonly number[]; offset: number }, alpha = 0): void {
    const n = sizeOf(shape);
    if (n === 0) return;
    const operands = [...views, ...Array(3 - views.length).fill({ strides: shape.map(() => 0), offset: 0 }), out];
    // Each operand's element range must fit one storage binding: otherwise split the first non-trivial dim.
    const ranges = operands.map((v) => elementRange(shape, v.strides, v.offset));
    const windows = ranges.map(([lo, hi], k) => (k < views.length ? this.windowFor(views[k].buf, lo, hi, op) : k === 3 ? this.windowFor(outBuf, lo, hi, op) : { binding: undefined, base: 0 }));
    if (windows.some((w) => !w)) {
      const d = shape.findIndex((x) => x > 1);
      const half = Math.ceil(shape[d] / 2);
      for (const [start, len] of [[0, half], [half, shape[d] - half]]) {
        const piece = shape.map((x, i) => (i === d ? len : x));
        const shift = (v: { strides: readonly number[]; offset: number }) => ({ ...v, offset: v.offset + start * v.strides[d] });
        this.map(op, piece, views.map(shift) as View[], inputs, body, exprType, outBuf, outDtype, shift(out), alpha);
      }
      return;
    }
    const merged = collapseDims(shape, operands);
    if (merged.shape.length > MAX_DIMS) {
      throw new RangeError(`webgpu ${op}: views of shape [${shape.join(", ")}] need ${merged.shape.length} dims after merging contiguous ones; at most ${MAX_DIMS} are supported (reshape or copy the input first)`);
    }
    const nd = merged.shape.length;
    const allDense = merged.strides.every((s) => nd === 0 || (nd === 1 && s[0] === 1)) ? 1 : 0;
    const params = new Array<number>(52).fill(0);
    params[0] = n;
    params[1] = nd;
    params[2] = allDense;
    params[3] = alpha;
    operands.forEach((v, k) => (params[4 + k] = v.offset - windows[k]!.base));
    params[8] = "code" in body ? body.code : 0;
    for (let d = 0; d < nd; d++) {
      params[12 + d] = merged.shape[d];
      for (let k = 0; k < 4; k++) params[20 + d * 4 + k] = merged.strides[k][d];
    }
    const what = "expr" in body ? body.expr : `${body.table} table`;
    const key = `map ${what} ${exprType} ${outDtype} ${inputs.map((x) => `${x.dtype}/${x.as}`).join(" ")}`;
    const kernel = this.kernel(key, () =>
      mapShader(inputs, "expr" in body ? `  r = ${body.expr};` : tableBody(body.table === "unary" ? UNARY_WGSL : BINARY_WGSL, exprType), exprType, outDtype));
    const buffers = [windows[3]!.binding!, ...views.map((_, k) => windows[k]!.binding!)];
    const [gx, gy] = grid(Math.ceil(n / MAP_WORKGROUP));
    this.dispatch(op, kernel, params, buffers, [gx, gy], [3]);
  }

  copy(x: View, dtype: DType): Buf {
    this.checkDevice("copy");
    checkDType(dtype, "copy");
    checkDType(x.dtype, "copy");
    const n = sizeOf(x.shape);
    const out = this.alloc(n, dtype);
    const as = x.dtype === "float32" ? "f32" : "i32";
    this.map("copy", x.shape, [x], [{ dtype: x.dtype, as }], { expr: "x0" }, as, out, dtype, { strides: contiguousStrides(x.shape), offset: 0 });
    return out;
  }

  copyInto(dstBuf: Buf, dst: { shape: readonly number[]; strides: readonly number[]; offset: number; dtype: DType }, src: View): void {
    this.checkDevice("copyInto");
    checkDType(dst.dtype, "copyInto");
    checkDType(src.dtype, "copyInto");
    let source = src;
    let temporary: Buf | undefined;
    if (src.buf === dstBuf) {
      // A buffer cannot be bound for reading and writing in one dispatch: copy the source out first.
      temporary = this.copy(src, src.dtype);
      source = { buf: temporary, dtype: src.dtype, shape: src.shape, strides: contiguousStrides(src.shape), offset: 0 };
    }
    const as = source.dtype === "float32" ? "f32" : "i32";
    this.map("copyInto", dst.shape, [source], [{ dtype: source.dtype, as }], { expr: "x0" }, as, dstBuf, dst.dtype, dst);
    if (temporary) this.free(temporary);
  }

  unary(op: UnaryOp, x: View, outDtype: DType, param = 0): Buf {
    this.checkDevice(`unary ${op}`);
    checkDType(x.dtype, `unary ${op}`);
    checkDType(outDtype, `unary ${op}`);
    const row = UNARY_WGSL[op];
    if (!row) throw new Error(`webgpu unary: unknown op '${op}'`);
    const { type } = pickExpr(row, x.dtype);
    const out = this.alloc(sizeOf(x.shape), outDtype);
    this.map(`unary ${op}`, x.shape, [x], [{ dtype: x.dtype, as: type }], { table: "unary", code: opcode(UNARY_WGSL, op) }, type, out, outDtype,
      { strides: contiguousStrides(x.shape), offset: 0 }, param);
    return out;
  }

  binary(op: BinaryOp, a: View, b: View, outDtype: DType): Buf {
    this.checkDevice(`binary ${op}`);
    checkDType(a.dtype, `binary ${op}`);
    checkDType(b.dtype, `binary ${op}`);
    checkDType(outDtype, `binary ${op}`);
    const row = BINARY_WGSL[op];
    if (!row) throw new Error(`webgpu binary: unknown op '${op}'`);
    const { type } = pickExpr(row, a.dtype);
    const out = this.alloc(sizeOf(a.shape), outDtype);
    this.map(`binary ${op}`, a.shape, [a, b], [{ dtype: a.dtype, as: type }, { dtype: b.dtype, as: type }], { table: "binary", code: opcode(BINARY_WGSL, op) }, type, out, outDtype,
      { strides: contiguousStrides(a.shape), offset: 0 });
    return out;
  }

  where(cond: View, a: View, b: View): Buf {
    this.checkDevice("where");
    checkDType(a.dtype, "where");
    const type = a.dtype === "float32" ? "f32" : "i32";
    const out = this.alloc(sizeOf(a.shape), a.dtype);
    const inputs: MapInput[] = [{ dtype: cond.dtype, as: "bool" as LoadAs }, { dtype: a.dtype, as: type }, { dtype: b.dtype, as: type }];
    this.map("where", a.shape, [cond, a, b], inputs, { expr: "select(x2, x1, x0)" }, type, out, a.dtype, { strides: contiguousStrides(a.shape), offset: 0 });
    return out;
  }

  // ---------------------------------------------------------------- reductions and scans

  reduce(op: ReduceOp, x: Buf, dtype: DType, outer: number, r: number, inner: number): Buf {
    this.checkDevice(`reduce ${op}`);
    checkDType(dtype, `reduce ${op}`);
    const outDtype = reduceOutDType(op, dtype);
    const outputs = outer * inner;
    if (outputs === 0) return this.alloc(0, outDtype);
    if (r === 0) return this.fill(outputs, outDtype, reduceEmptyValue(op, outDtype));
    if (this.pastBinding(x)) return chunked.reduce(this, op, x, dtype, outer, r, inner);
    const out = this.alloc(outputs, outDtype);
    const { tree, parts } = reducePlan(outputs, r, this.reduceStyle);
    const subgroups = tree && this.subgroups;
    const kernel = (variant: Omit<ReduceVariant, "op" | "dtype" | "subgroups">) => {
      const full = { op, dtype, subgroups, ...variant };
      return this.kernel(reduceVariantKey(full), () => reduceShader(full));
    };
    const source = this.gpu(x, "reduce");
    if (parts === 1) {
      const [gx, gy] = grid(tree ? outputs : Math.ceil(outputs / REDUCE_THREAD_WORKGROUP));
      this.dispatch(`reduce ${op}`, kernel({ tree, input: "x", output: "final" }), [outer, r, inner, 1], [this.gpu(out, "reduce"), source], [gx, gy]);
      return out;
    }
    // Few outputs, long r: `parts` workgroups per output write partials, a second dispatch combines them.
    const partials = this.alloc(outputs * parts * reducePartialWords(op), "int32");
    this.dispatch(`reduce ${op} (parts)`, kernel({ tree, input: "x", output: "partials" }), [outer, r, inner, parts], [this.gpu(partials, "reduce"), source], grid(outputs * parts));
    this.dispatch(`reduce ${op} (combine)`, kernel({ tree, input: "partials", output: "final" }), [outputs, parts, 1, 1], [this.gpu(out, "reduce"), this.gpu(partials, "reduce")], grid(outputs));
    this.free(partials);
    return out;
  }

  cumsum(x: Buf, dtype: DType, outer: number, n: number, inner: number, reverse: boolean): Buf {
    this.checkDevice("cumsum");
    checkDType(dtype, "cumsum");
    if (this.pastBinding(x) && outer * n * inner > 0) return chunked.cumsum(this, x, dtype, outer, n, inner, reverse);
    const out = this.alloc(outer * n * inner, dtype === "bool" ? "int32" : dtype);
    if (outer * n * inner === 0) return out;
    const [gx, gy] = grid(Math.ceil((outer * inner) / CUMSUM_WORKGROUP));
    this.dispatch("cumsum", this.kernel(`cumsum ${dtype}`, () => cumsumShader(dtype)), [outer, n, inner, reverse ? 1 : 0], [this.gpu(out, "cumsum"), this.gpu(x, "cumsum")], [gx, gy]);
    return out;
  }

  // ---------------------------------------------------------------- matmul

  /** The tiled (workgroup-memory) kernel on GPUs, the register-blocked one on software adapters. */
  private matmulKernel(dtype: DType, aKind: MatmulA, m: number, n: number, batch: number): { kernel: Kernel; tile: number } {
    if (this.matmulVariant === "direct") {
      if (aKind !== "matrix") throw new Error(`webgpu matmulKernel: '${aKind}' runs on conv.ts's convGemmShader on software adapters`);
      return { kernel: this.kernel(`matmul direct ${dtype}`, () => matmulDirectShader(dtype)), tile: MATMUL_DIRECT_TILE };
    }
    const shape = this.tiledShape ?? tiledShapeFor(m, n, batch);
    return { kernel: this.kernel(`matmul tiled ${dtype} ${aKind} ${shape.per}x${shape.tk}`, () => matmulShader(dtype, aKind, shape)), tile: 16 * shape.per };
  }

  matmul(a: Buf, b: Buf, dtype: DType, p: MatmulParams): Buf {
    this.checkDevice("matmul");
    checkDType(dtype, "matmul");
    if (this.pastBinding(a) || this.pastBinding(b) || p.batch * p.m * p.n * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.matmul(this, a, b, dtype, p);
    const out = this.alloc(p.batch * p.m * p.n, dtype);
    if (p.batch * p.m * p.n === 0) return out;
    if (p.k === 0) {
      this.free(out);
      return this.fill(p.batch * p.m * p.n, dtype, 0);
    }
    const { kernel: code, tile } = this.matmulKernel(dtype, "matrix", p.m, p.n, p.batch);
    const gx = Math.ceil(p.n / tile), gy = Math.ceil(p.m / tile);
    if (gx > MAX_WORKGROUPS_PER_DIM || gy > MAX_WORKGROUPS_PER_DIM) {
      throw new RangeError(`webgpu matmul: [${p.m}, ${p.k}] @ [${p.k}, ${p.n}] needs more than ${MAX_WORKGROUPS_PER_DIM} tiles along a side`);
    }
    const buffers = [this.gpu(out, "matmul"), this.gpu(a, "matmul"), this.gpu(b, "matmul")];
    for (let base = 0; base < p.batch; base += MAX_WORKGROUPS_PER_DIM) {
      const batches = Math.min(MAX_WORKGROUPS_PER_DIM, p.batch - base);
      this.dispatch("matmul", code, [p.m, p.n, p.k, p.aBatchStride, p.bBatchStride, p.transA ? 1 : 0, p.transB ? 1 : 0, base], buffers, [gx, gy, batches]);
    }
    return out;
  }

  // ---------------------------------------------------------------- indexing

  /** `site` names the op and shapes in the error for an out-of-range index (reported at the next read). */
  gather(x: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number, site: IndexSite = { op: "gather" }): Buf {
    this.checkDevice("gather");
    checkDType(dtype, "gather");
    if (this.pastBinding(idx) || outer * nIdx * inner * BYTES_PER_ELEMENT > this.maxBindingBytes ||
      (outer * axisSize * inner * BYTES_PER_ELEMENT > this.maxBindingBytes && !chunked.gatherRowWindowsFit(outer, inner, this.maxBindingBytes, this.bindingAlignElements))) {
      return chunked.gather(this, x, dtype, idx, outer, axisSize, inner, nIdx, site);
    }
    const total = outer * nIdx * inner;
    const out = this.alloc(total, dtype);
    if (total === 0) {
      // No output to gather into (outer or inner is 0), but the indices are still checked, as on the CPU.
      if (nIdx > 0) this.checkIndices(idx, nIdx, axisSize, site);
      return out;
    }
    const [gx, gy] = grid(Math.ceil(total / INDEX_WORKGROUP));
    const kernel = this.kernel("gather", () => GATHER_SHADER);
    const outBinding = this.gpu(out, "gather"), idxBinding = this.gpu(idx, "gather");
    const tag = this.indexTag(site, axisSize, outer, inner, nIdx); // the first pass checks the indices
    const xBytes = outer * axisSize * inner * BYTES_PER_ELEMENT;
    if (xBytes <= this.maxBindingBytes) {
      this.dispatch("gather", kernel, [outer, axisSize, inner, nIdx, 0, axisSize, 1, 0, tag], [outBinding, this.gpuAny(x, "gather"), idxBinding], [gx, gy]);
      return out;
    }
    if (outer !== 1) this.gpu(x, "gather (past the first axis)"); // throws the size error
    // A source larger than one binding: one pass per window of rows; each index is written by the pass holding its row.
    const align = this.device.limits.minStorageBufferOffsetAlignment / BYTES_PER_ELEMENT;
    const rowsPerWindow = Math.floor((this.maxBindingBytes / BYTES_PER_ELEMENT - align) / inner);
    if (rowsPerWindow < 1) this.gpu(x, "gather");
    for (let row0 = 0; row0 < axisSize; row0 += rowsPerWindow) {
      const rows = Math.min(rowsPerWindow, axisSize - row0);
      const w = this.windowFor(x, row0 * inner, (row0 + rows) * inner - 1, "gather")!;
      this.dispatch("gather", kernel, [outer, axisSize, inner, nIdx, row0, rows, row0 === 0 ? 1 : 0, row0 * inner - w.base, tag], [outBinding, w.binding, idxBinding], [gx, gy]);
    }
    return out;
  }

  scatterAdd(g: Buf, dtype: DType, idx: Buf, outer: number, axisSize: number, inner: number, nIdx: number, site: IndexSite = { op: "scatterAdd" }): Buf {
    this.checkDevice("scatterAdd");
    checkDType(dtype, "scatterAdd");
    if (this.pastBinding(g) || this.pastBinding(idx) || outer * axisSize * inner * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.scatterAdd(this, g, dtype, idx, outer, axisSize, inner, nIdx);
    const total = outer * axisSize * inner;
    const out = this.alloc(total, dtype);
    if (total === 0) return out;
    const [gx, gy] = grid(Math.ceil(total / INDEX_WORKGROUP));
    const tag = this.indexTag(site, axisSize, outer, inner, nIdx);
    this.dispatch("scatterAdd", this.kernel(`scatterAdd ${dtype}`, () => scatterAddShader(dtype)), [outer, axisSize, inner, nIdx, tag],
      [this.gpu(out, "scatterAdd"), this.gpu(g, "scatterAdd"), this.gpu(idx, "scatterAdd")], [gx, gy]);
    return out;
  }

  // ---------------------------------------------------------------- convolution and pooling

  private convParams(p: Conv2dParams): number[] {
    return [p.n, p.h, p.w, p.cin, p.kh, p.kw, p.cout, p.oh, p.ow, p.strideH, p.strideW, p.dilationH, p.dilationW, p.padTop, p.padLeft, 0];
  }

  private checkFloat(dtype: DType, op: string): void {
    this.checkDevice(op);
    checkDType(dtype, op);
    if (dtype !== "float32") throw new TypeError(`webgpu ${op}: only float32 is supported (got ${dtype}); cast the inputs to float32`);
  }

  /** conv2d and both gradients run as implicit GEMMs on the matmul kernels (im2col / col2im computed on load). */
  private implicitGemm(op: string, aKind: "conv" | "convFilterGrad" | "convInputGrad", a: Buf, b: Buf, m: number, n: number, k: number, p: Conv2dParams): Buf {
    const out = this.alloc(m * n, "float32");
    if (m * n === 0) return out;
    if (k === 0) {
      this.free(out);
      return this.fill(m * n, "float32", 0);
    }
    // Software adapters: conv.ts's register-blocked conv GEMMs (no integer division per element; 3–10× on lavapipe).
    const { kernel, tile } = this.matmulVariant === "direct"
      ? { kernel: this.kernel(`conv gemm ${aKind}`, () => convGemmShader(aKind)), tile: CONV_GEMM_TILE }
      : this.matmulKernel("float32", aKind, m, n, 1);
    const groups: [number, number, number] = [Math.ceil(n / tile), Math.ceil(m / tile), 1];
    if (groups[1] > MAX_WORKGROUPS_PER_DIM) throw new RangeError(`webgpu ${op}: ${m} rows need more than ${MAX_WORKGROUPS_PER_DIM} tiles`);
    const conv = this.convParams(p);
    const splits = this.matmulVariant === "tiled" ? splitKSlices(groups[0] * groups[1], k, m * n, this.maxBindingBytes, this.splitKTarget) : 1;
    if (splits > 1) {
      // Split-K: each slice of K writes its partial [m, n] block (batch index = slice), then one sum over the slices.
      const kSplit = Math.ceil(k / splits / SPLIT_K_ALIGN) * SPLIT_K_ALIGN;
      const slices = Math.ceil(k / kSplit);
      const partial = this.alloc(slices * m * n, "float32");
      conv[conv.length - 1] = kSplit;
      this.dispatch(op, kernel, [m, n, k, 0, 0, 0, 0, 0, ...conv], [this.gpu(partial, op), this.gpu(a, op), this.gpu(b, op)], [groups[0], groups[1], slices]);
      this.free(out);
      const sum = this.reduce("sum", partial, "float32", 1, slices, m * n);
      this.free(partial);
      return sum;
    }
    this.dispatch(op, kernel, [m, n, k, 0, 0, 0, 0, 0, ...conv], [this.gpu(out, op), this.gpu(a, op), this.gpu(b, op)], groups);
    return out;
  }

  conv2d(x: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf {
    this.checkFloat(dtype, "conv2d");
    if (this.pastBinding(x) || this.pastBinding(w) || p.n * p.oh * p.ow * p.cout * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.conv2d(this, x, w, p);
    if (DIRECT_CONV) {
      const total = p.n * p.oh * p.ow * p.cout;
      const out = this.alloc(total, dtype);
      if (total === 0) return out;
      const [gx, gy] = grid(Math.ceil(total / CONV_WORKGROUP));
      this.dispatch("conv2d", this.kernel("conv2d", () => CONV2D_SHADER), this.convParams(p), [this.gpu(out, "conv2d"), this.gpu(x, "conv2d"), this.gpu(w, "conv2d")], [gx, gy]);
      return out;
    }
    return this.implicitGemm("conv2d", "conv", x, w, p.n * p.oh * p.ow, p.cout, p.kh * p.kw * p.cin, p);
  }

  conv2dGradInput(dy: Buf, w: Buf, dtype: DType, p: Conv2dParams): Buf {
    this.checkFloat(dtype, "conv2dGradInput");
    if (this.pastBinding(dy) || this.pastBinding(w) || p.n * p.h * p.w * p.cin * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.conv2dGradInput(this, dy, w, p);
    // The GEMM's N is cin: narrower than a 64-wide tile, most of each tile idles (measured slower for cin 16).
    // Software adapters: conv.ts's GEMM measured faster from cin 8 on (lavapipe: cin 16 6.6 vs 18 ms, cin 32 34 vs 76+ ms).
    if (DIRECT_CONV || p.cin < (this.matmulVariant === "direct" ? 8 : 64)) {
      const total = p.n * p.h * p.w * p.cin;
      const out = this.alloc(total, dtype);
      if (total === 0) return out;
      const [gx, gy] = grid(Math.ceil(total / CONV_WORKGROUP));
      this.dispatch("conv2dGradInput", this.kernel("conv2dGradInput", () => CONV2D_GRAD_INPUT_SHADER), this.convParams(p),
        [this.gpu(out, "conv2dGradInput"), this.gpu(dy, "conv2dGradInput"), this.gpu(w, "conv2dGradInput")], [gx, gy]);
      return out;
    }
    return this.implicitGemm("conv2dGradInput", "convInputGrad", dy, w, p.n * p.h * p.w, p.cin, p.kh * p.kw * p.cout, p);
  }

  conv2dGradFilter(x: Buf, dy: Buf, dtype: DType, p: Conv2dParams): Buf {
    this.checkFloat(dtype, "conv2dGradFilter");
    if (this.pastBinding(x) || this.pastBinding(dy) || p.kh * p.kw * p.cin * p.cout * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.conv2dGradFilter(this, x, dy, p);
    if (DIRECT_CONV) {
      const total = p.kh * p.kw * p.cin * p.cout;
      const out = this.alloc(total, dtype);
      if (total === 0) return out;
      const [gx, gy] = grid(total);
      this.dispatch("conv2dGradFilter", this.kernel("conv2dGradFilter", () => CONV2D_GRAD_FILTER_SHADER), this.convParams(p),
        [this.gpu(out, "conv2dGradFilter"), this.gpu(x, "conv2dGradFilter"), this.gpu(dy, "conv2dGradFilter")], [gx, gy]);
      return out;
    }
    return this.implicitGemm("conv2dGradFilter", "convFilterGrad", x, dy, p.kh * p.kw * p.cin, p.cout, p.n * p.oh * p.ow, p);
  }

  private poolParams(op: "max" | "avg", p: Pool2dParams): number[] {
    return [p.n, p.h, p.w, p.c, p.kh, p.kw, p.oh, p.ow, p.strideH, p.strideW, p.padTop, p.padLeft, op === "max" ? 1 : 0, 0, 0, 0];
  }

  pool2d(op: "max" | "avg", x: Buf, dtype: DType, p: Pool2dParams): Buf {
    this.checkFloat(dtype, "pool2d");
    if (this.pastBinding(x) || p.n * p.oh * p.ow * p.c * BYTES_PER_ELEMENT > this.maxBindingBytes) return chunked.pool2d(this, op, x, p);
    const total = p.n * p.oh * p.ow * p.c;
    const out = this.alloc(total, dtype);
    if (total === 0) return out;
    const [gx, gy] = grid(Math.ceil(total / CONV_WORKGROUP));
    this.dispatch("pool2d", this.kernel("pool2d", () => POOL2D_SHADER), this.poolParams(op, p), [this.gpu(out, "pool2d"), this.gpu(x, "pool2d")], [gx, gy]);
    return out;
  }

  pool2dGrad(op: "max" | "avg", x: Buf, dy: Buf, dtype: DType, p: Pool2dParams): Buf {
    this.checkFloat(dtype, "pool2dGrad");
    if (this.pastBinding(x) || this.pastBinding(dy)) return chunked.pool2dGrad(this, op, x, dy, p);
    const total = p.n * p.h * p.w * p.c;
    const out = this.alloc(total, dtype);
    if (total === 0) return out;
    const [gx, gy] = grid(Math.ceil(total / CONV_WORKGROUP));
    this.dispatch("pool2dGrad", this.kernel("pool2dGrad", () => POOL2D_GRAD_SHADER), this.poolParams(op, p),
      [this.gpu(out, "pool2dGrad"), this.gpu(x, "pool2dGrad"), this.gpu(dy, "pool2dGrad")], [gx, gy]);
    return out;
  }

  // ---------------------------------------------------------------- optimizers

  /** One fused optimizer update (kernels/optim.ts): the new parameter in a new buffer, state in place; undefined past one binding. */
  optimizerStep(rule: OptimizerRule, p: Buf, g: Buf, state: readonly Buf[], n: number): Buf | undefined {
    this.checkDevice("optimizerStep");
    const operands = [p, g, ...state] as WebGPUBuf[];
    if (state.length !== optimizerStateCount(rule) || operands.some((b) => b.elements < n)) {
      throw new Error(`webgpu optimizerStep: the ${rule.kind} rule takes ${optimizerStateCount(rule)} state buffers of ${n} elements, got ${state.length} (${operands.map((b) => b.elements).join(", ")} elements)`);
    }
    if (n === 0 || operands.some((b) => b.isWindow || this.pastBinding(b))) return undefined;
    const out = this.alloc(n, "float32");
    const { words, floatWords } = optimizerParams(rule, n);
    const buffers = [out, ...state, p, g].map((b) => this.gpu(b, "optimizerStep"));
    this.dispatch(`optimizer ${rule.kind}`, this.kernel(optimizerKey(rule), () => optimizerShader(rule)), words, buffers, grid(Math.ceil(n / OPTIM_WORKGROUP)), floatWords);
    return out;
  }
}

/** The process-wide WebGPU backend, or why it is unavailable (no adapter, Dawn failed to load). */
export async function createWebGPUBackend(): Promise<Backend | { unavailable: string }> {
  const ctx = await gpuContext();
  if ("unavailable" in ctx) return ctx;
  backendInstance ??= new WebGPUBackend(ctx);
  return backendInstance;
}
let backendInstance: WebGPUBackend | undefined;

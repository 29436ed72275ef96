/// <reference types="@webgpu/types" />
/**
 * GPU time per kernel from `timestamp-query`: while a profile runs, every dispatch gets its own compute
 * pass with timestamps at both ends; each submitted batch resolves its queries into a buffer that is read
 * back asynchronously. Outside a profile nothing changes (dispatches share one pass, no queries).
 */
import { currentBackend } from "../registry.js";
import { featuresDisabledNote } from "./device.js";
import type { WebGPUBackend } from "./webgpu.js";
import { idleWait } from "./idle-wait.js";

const USAGE_MAP_READ = 0x1, USAGE_COPY_SRC = 0x4, USAGE_COPY_DST = 0x8, USAGE_QUERY_RESOLVE = 0x200;
const MAP_MODE_READ = 0x1;

export interface KernelTime {
  /** The op that dispatched it, as in errors and DAWNET_WEBGPU_TRACE ("matmul", "binary add", "reduce sum (parts)"). */
  name: string;
  count: number;
  /** Summed GPU time between the pass's start and end timestamps, in microseconds. */
  totalUs: number;
}

/** Timestamps for the dispatches of one profile, batch by batch (a batch is one submit). */
export class DispatchTimer {
  private querySet: GPUQuerySet | null = null;
  private names: string[] = [];
  private readonly readbacks: Promise<void>[] = [];
  private readonly totals = new Map<string, { count: number; ns: number }>();
  private readonly failures: string[] = [];

  /** `capacity`: the most dispatches one batch can hold (the backend submits before exceeding it). */
  constructor(private readonly device: GPUDevice, private readonly capacity: number) {}

  /** The pass descriptor for the next dispatch of the open batch: its own pass, timestamps at both ends. */
  passFor(name: string): GPUComputePassDescriptor {
    if (this.names.length === this.capacity) throw new Error(`webgpu profile: more than ${this.capacity} dispatches in one batch (the backend submits before that)`);
    this.querySet ??= this.device.createQuerySet({ type: "timestamp", count: 2 * this.capacity, label: "dawnet profile" });
    const i = this.names.length;
    this.names.push(name);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 }, label: `dawnet ${name}` };
  }

  /**
   * Encodes the resolve of this batch's queries (call before `encoder.finish()`); returns what to call
   * right after the submit, which starts reading them back. The next batch gets a fresh query set.
   */
  resolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    if (this.names.length === 0 || !this.querySet) return undefined;
    const names = this.names, querySet = this.querySet;
    this.names = [];
    this.querySet = null;
    const bytes = names.length * 2 * 8;
    const resolved = this.device.createBuffer({ size: bytes, usage: USAGE_QUERY_RESOLVE | USAGE_COPY_SRC, label: "dawnet profile resolve" });
    const readback = this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST, label: "dawnet profile readback" });
    encoder.resolveQuerySet(querySet, 0, names.length * 2, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
    return () => {
      // The closure keeps every buffer referenced until the map settles (a collected wrapper aborts it).
      const done = idleWait(readback.mapAsync(MAP_MODE_READ, 0, bytes)).then(
        () => {
          const stamps = new BigUint64Array(readback.getMappedRange(0, bytes).slice(0));
          readback.unmap();
          names.forEach((name, i) => {
            const ns = Number(stamps[2 * i + 1] - stamps[2 * i]);
            const entry = this.totals.get(name) ?? { count: 0, ns: 0 };
            entry.count++;
            entry.ns += ns > 0 ? ns : 0; // an end stamp before the start (clock reset) counts as 0
            this.totals.set(name, entry);
          });
        },
        (e: Error) => void this.failures.push(e.message),
      ).finally(() => {
        resolved.destroy();
        readback.destroy();
        querySet.destroy();
      });
      this.readbacks.push(done);
    };
  }

  /** Every batch's times, once all readbacks settled (the backend has submitted everything). */
  async results(): Promise<KernelTime[]> {
    await Promise.all(this.readbacks);
    if (this.failures.length) throw new Error(`webgpu profile: reading the timestamps failed: ${this.failures.join(" | ")}`);
    return [...this.totals].map(([name, t]) => ({ name, count: t.count, totalUs: t.ns / 1000 })).sort((a, b) => b.totalUs - a.totalUs);
  }
}

/** What `webgpuProfile` measured: GPU time per kernel, the wall time of the profiled function, and its result. */
export class GpuProfile<T = unknown> {
  constructor(
    /** What the profiled function returned. */
    readonly result: T,
    /** Per kernel name, most GPU time first. */
    readonly kernels: KernelTime[],
    /** Wall time of the function plus waiting for its GPU work, in ms. */
    readonly wallMs: number,
    readonly adapter: string,
    /** Why the profile is empty, when it is. */
    readonly note?: string,
  ) {}

  /** GPU time of every dispatch, in µs. */
  get gpuUs(): number {
    return this.kernels.reduce((s, k) => s + k.totalUs, 0);
  }

  get dispatches(): number {
    return this.kernels.reduce((s, k) => s + k.count, 0);
  }

  /** A fixed-width table: kernel, count, total and mean µs, share of GPU time. */
  toString(): string {
    const total = this.gpuUs;
    const rows = this.kernels.map((k) => [k.name, String(k.count), k.totalUs.toFixed(1), (k.totalUs / k.count).toFixed(1), total > 0 ? `${((100 * k.totalUs) / total).toFixed(1)}%` : "-"]);
    const header = ["kernel", "count", "total µs", "mean µs", "share"];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
    const title = `GPU time by kernel (${this.adapter}): ${this.dispatches} dispatches, ${(total / 1000).toFixed(3)} ms GPU, ${this.wallMs.toFixed(3)} ms wall`;
    if (this.note) return `${title}\n${this.note}`;
    return [title, line(header), ...rows.map(line)].join("\n");
  }

  /** The same table as HTML for notebooks (text/plain for everything else). */
  toHTML(): string {
    const escape = (t: string) => t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const total = this.gpuUs;
    const cell = (t: string, right = true) => `<td style="padding:2px 10px;text-align:${right ? "right" : "left"};font-family:monospace">${escape(t)}</td>`;
    const title = `GPU time by kernel (${this.adapter}): ${this.dispatches} dispatches, ${(total / 1000).toFixed(3)} ms GPU, ${this.wallMs.toFixed(3)} ms wall`;
    if (this.note) return `<div>${escape(title)}<br>${escape(this.note)}</div>`;
    const head = ["kernel", "count", "total µs", "mean µs", "share"].map((h, i) => `<th style="padding:2px 10px;text-align:${i ? "right" : "left"}">${h}</th>`).join("");
    const rows = this.kernels
      .map((k) => `<tr>${cell(k.name, false)}${cell(String(k.count))}${cell(k.totalUs.toFixed(1))}${cell((k.totalUs / k.count).toFixed(1))}${cell(total > 0 ? `${((100 * k.totalUs) / total).toFixed(1)}%` : "-")}</tr>`)
      .join("");
    return `<div><div>${escape(title)}</div><table style="border-collapse:collapse"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
  }

  [Symbol.for("jupyter.mimebundle")](): Record<string, string> {
    return { "text/plain": this.toString(), "text/html": this.toHTML() };
  }
}

/**
 * Runs `fn` (sync or async) with GPU timing on: every webgpu dispatch it encodes runs in its own timed
 * compute pass; after `fn` settles its work is submitted and awaited, and the times are summed per
 * kernel. `fn` must use the webgpu backend (the current one). Needs the device feature `timestamp-query`.
 */
export async function webgpuProfile<T>(fn: () => T | Promise<T>): Promise<GpuProfile<Awaited<T>>> {
  // Loaded on first use, as the registry does: importing the library does not load the backend.
  const { createWebGPUBackend } = await import("./webgpu.js");
  const created = await createWebGPUBackend();
  if ("unavailable" in created) throw new Error(`webgpuProfile: the webgpu backend is unavailable: ${created.unavailable}`);
  const backend = created as WebGPUBackend;
  if (!backend.features.has("timestamp-query")) {
    throw new Error(
      `webgpuProfile: this device has no 'timestamp-query' feature (adapter '${backend.adapterDescription}'${featuresDisabledNote()}), so GPU times ` +
        `cannot be measured; time the work with performance.now() around an awaited read instead`,
    );
  }
  const timer = backend.startTiming();
  const t0 = performance.now();
  let result: Awaited<T>;
  try {
    result = await fn();
    await backend.sync();
  } finally {
    backend.stopTiming(timer);
  }
  const wallMs = performance.now() - t0;
  const kernels = await timer.results();
  let note: string | undefined;
  if (kernels.length === 0) {
    let current = "none";
    try {
      current = currentBackend().name;
    } catch {
      // DAWNET_BACKEND names a backend not initialized yet: no tensor op could have run either.
    }
    note = current === "webgpu" ? "no webgpu dispatches ran" : `no webgpu dispatches ran: the current backend is '${current}' (call setBackend("webgpu") first)`;
  }
  return new GpuProfile(result, kernels, wallMs, backend.adapterDescription, note);
}

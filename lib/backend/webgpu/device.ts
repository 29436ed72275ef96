/// <reference types="@webgpu/types" />
import { capturePoll } from "./queue-throttle.js";
/**
 * The one Dawn device of the process: adapter request, explicit limits and optional features,
 * device-loss and uncaptured-error tracking.
 */

export interface GpuContext {
  /** Held for the life of the process: if Dawn's instance wrapper is collected, its pending event processing crashes (use-after-free in ProcessEvents). */
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterDescription: string;
  /** A CPU implementation (lavapipe/llvmpipe, SwiftShader, or Dawn's fallback adapter). */
  isSoftware: boolean;
  features: ReadonlySet<string>;
  /** Set when the device is lost; every later op throws with it. */
  lostReason?: string;
  /** Validation/out-of-memory errors not yet reported to a caller. */
  uncapturedErrors: string[];
}

export const OPTIONAL_FEATURES = ["shader-f16", "subgroups", "timestamp-query"] as const;
export type OptionalFeature = (typeof OPTIONAL_FEATURES)[number];

/**
 * Optional features not to request even when the adapter has them: DAWNET_WEBGPU_DISABLE_FEATURES is
 * "all" or a comma list (`subgroups,timestamp-query`), so the paths without them run on any adapter.
 */
export function disabledFeatures(env = process.env.DAWNET_WEBGPU_DISABLE_FEATURES): Set<OptionalFeature> {
  const words = (env ?? "").split(",").map((w) => w.trim()).filter(Boolean);
  if (words.includes("all")) return new Set(OPTIONAL_FEATURES);
  for (const w of words) {
    if (!(OPTIONAL_FEATURES as readonly string[]).includes(w)) {
      throw new Error(`DAWNET_WEBGPU_DISABLE_FEATURES: unknown feature '${w}' (known: all, ${OPTIONAL_FEATURES.join(", ")})`);
    }
  }
  return new Set(words as OptionalFeature[]);
}

/** ", disabled by DAWNET_WEBGPU_DISABLE_FEATURES=..." when that variable is set, for error messages. */
export function featuresDisabledNote(): string {
  const env = process.env.DAWNET_WEBGPU_DISABLE_FEATURES;
  return env ? `; DAWNET_WEBGPU_DISABLE_FEATURES=${env} is set` : "";
}
const REQUESTED_LIMITS = [
  "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupSizeX", "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ", "maxComputeInvocationsPerWorkgroup", "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize", "maxComputeWorkgroupsPerDimension", "maxUniformBufferBindingSize",
  "maxBindGroups",
] as const;

export const NO_ADAPTER_HELP =
  "no WebGPU adapter (requestAdapter() returned null): install a GPU driver with Vulkan support, or on Debian 12 " +
  "Mesa 25 lavapipe from bookworm-backports (apt-get install -t bookworm-backports mesa-vulkan-drivers; see " +
  "scripts/install-system-deps.sh); Debian 12's own Mesa 22 is rejected by Dawn";

let contextPromise: Promise<GpuContext | { unavailable: string }> | undefined;

/** Resolves the process-wide device (created on the first call), or why there is none. */
export function gpuContext(): Promise<GpuContext | { unavailable: string }> {
  contextPromise ??= createContext();
  return contextPromise;
}

async function createContext(): Promise<GpuContext | { unavailable: string }> {
  let gpu: GPU;
  try {
    const { create } = await import("webgpu");
    // Dawn rounds timestamps (a browser's timing-attack guard) unless told not to; webgpuProfile needs them exact.
    gpu = create(["disable-dawn-features=timestamp_quantization"]);
  } catch (e) {
    return { unavailable: `the 'webgpu' npm package (Dawn) failed to load: ${(e as Error).message.split("\n")[0]}` };
  }
  // capturePoll keeps Dawn's poll function, which the queue throttle calls to wait without an event-loop turn.
  const adapter = await capturePoll(() => gpu.requestAdapter({ powerPreference: "high-performance" }));
  if (!adapter) return { unavailable: NO_ADAPTER_HELP };

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  let disabled: Set<OptionalFeature>;
  try {
    disabled = disabledFeatures();
  } catch (e) {
    return { unavailable: (e as Error).message };
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f)) as GPUFeatureName[];
  let device: GPUDevice;
  try {
    device = await capturePoll(() => adapter.requestDevice({ requiredLimits, requiredFeatures, label: "dawnet" }));
  } catch (e) {
    return { unavailable: `requestDevice failed on adapter '${describe(adapter)}': ${(e as Error).message}` };
  }
  const ctx: GpuContext = {
    gpu,
    adapter,
    device,
    adapterDescription: describe(adapter),
    isSoftware: isSoftwareAdapter(adapter),
    features: new Set(device.features as unknown as Iterable<string>),
    uncapturedErrors: [],
  };
  void device.lost.then((info) => {
    ctx.lostReason = `${info.reason}: ${info.message}`;
  });
  device.addEventListener("uncapturederror", (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    if (ctx.uncapturedErrors.length < 20) ctx.uncapturedErrors.push(message);
  });
  return ctx;
}

function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  return /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

function describe(adapter: GPUAdapter): string {
  const info = adapter.info;
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(" / ") || "unknown adapter";
}

/**
 * Backend selection. The CPU backend is always available synchronously. The WebGPU backend needs an
 * asynchronous adapter request, so it becomes the default once `ready()` (or `setBackend("webgpu")`)
 * has run: the kernel does that before the first cell; programs `await ready()` once at start.
 */
import type { Backend } from "./backend.js";
import { CpuBackend } from "./cpu/cpu.js";

type Factory = () => Promise<Backend | { unavailable: string }>;

const factories = new Map<string, Factory>();
const instances = new Map<string, Backend>();
let current: Backend | undefined;
let readyPromise: Promise<string> | undefined;

export function registerBackend(name: string, factory: Factory): void {
  factories.set(name, factory);
}

registerBackend("cpu", async () => new CpuBackend());
registerBackend("webgpu", async () => {
  const mod = await import("./webgpu/webgpu.js");
  return mod.createWebGPUBackend();
});

function cpu(): Backend {
  let b = instances.get("cpu");
  if (!b) {
    b = new CpuBackend();
    instances.set("cpu", b);
  }
  return b;
}

/** The backend new tensors are created on. */
export function currentBackend(): Backend {
  if (!current) {
    const env = process.env.DAWNET_BACKEND;
    if (env && env !== "cpu" && !instances.has(env)) {
      // An explicit non-CPU choice must be initialized asynchronously first.
      throw new Error(`dawnet: DAWNET_BACKEND=${env} is set but the backend is not initialized yet: call 'await dawnet.ready()' before the first op`);
    }
    current = env && env !== "cpu" ? instances.get(env)! : cpu();
  }
  return current;
}

/** Returns a backend instance by name, initializing it if needed; throws with the reason when unavailable. */
export async function loadBackend(name: string): Promise<Backend> {
  if (name === "cpu") return cpu();
  const have = instances.get(name);
  if (have) return have;
  const f = factories.get(name);
  if (!f) throw new Error(`dawnet: unknown backend '${name}' (available: ${[...factories.keys()].join(", ")})`);
  const b = await f();
  if ("unavailable" in b) throw new Error(`dawnet: backend '${name}' is unavailable: ${b.unavailable}`);
  instances.set(name, b);
  return b;
}

/** Makes `name` the backend for new tensors. */
export async function setBackend(name: string): Promise<void> {
  current = await loadBackend(name);
}

/** Runs `fn` with `backend` as the backend for new tensors (synchronously), then restores the previous one. */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = current;
  current = backend;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

export function getBackend(): string {
  return currentBackend().name;
}

export function backendIfLoaded(name: string): Backend | undefined {
  return name === "cpu" ? cpu() : instances.get(name);
}

/**
 * Picks the default backend once: DAWNET_BACKEND if set, else webgpu when a hardware adapter exists, else
 * cpu with one line on stderr saying why (no adapter, or only a software renderer such as lavapipe, which
 * setBackend("webgpu") still uses when asked). Resolves with the chosen backend's name.
 */
export function ready(): Promise<string> {
  if (!readyPromise) {
    readyPromise = (async () => {
      const env = process.env.DAWNET_BACKEND;
      if (env) {
        await setBackend(env);
        return env;
      }
      if (current) return current.name;
      try {
        const gpu = await loadBackend("webgpu");
        const soft = gpu as { isSoftwareAdapter?: boolean; adapterDescription?: string };
        if (soft.isSoftwareAdapter) {
          // Measured on lavapipe (2 cores): tutorials 6, 7 and 11 took 2-3x as long on webgpu as on cpu.
          if (!process.env.DAWNET_QUIET) {
            console.error(`dawnet: using the cpu backend (the only WebGPU adapter, '${soft.adapterDescription}', renders in software and is usually slower; DAWNET_BACKEND=webgpu or await dn.setBackend("webgpu") uses it anyway)`);
          }
          current = cpu();
        } else current = gpu;
      } catch (e) {
        const why = (e as Error).message.replace(/^dawnet: backend 'webgpu' is unavailable: /, "");
        if (!process.env.DAWNET_QUIET) console.error(`dawnet: using the cpu backend (webgpu unavailable: ${why})`);
        current = cpu();
      }
      return current!.name;
    })();
  }
  return readyPromise;
}

/**
 * Benchmarks dawnet's CPU backend against TensorFlow.js (cpu, wasm) and PyTorch CPU in one run:
 * matmul GFLOP/s, per-op overhead, MLP and CNN training samples/s. Prints one JSON line per result,
 * then a table with ratios (dawnet ÷ peer, > 1 means dawnet is faster).
 *
 *   node dist/bench/run.js [--backend=cpu|webgpu] [--sections=matmul,overhead,mlp,cnn] [--sizes=256,512,1024,2048]
 *       [--peers=tfjs-wasm,tfjs-cpu,torch] [--budget-ms=1000] [--batch=32] [--mlp-steps=300] [--cnn-steps=30] [--windows=3]
 *       [--op-size=100] [--tfjs-cpu-max=1024] [--tfjs-cpu-cnn] [--quick]
 *
 * Timings are best-of repetitions, training the fastest of --windows equal windows of steps (other processes share the machine). PyTorch runs through
 * /usr/bin/python3 (Debian python3-torch) with its default thread count; set --torch-threads=N to change it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { emit, type BenchResult, type TrainSpec } from "./common.js";
import { dawnetCnn, dawnetCnnFit, dawnetMatmul, dawnetMatmulQueued, dawnetMlp, dawnetMlpFit, dawnetOpOverhead, dawnetSetup } from "./dawnet-bench.js";

interface Options {
  backend: "cpu" | "webgpu"; queue: number;
  sections: string[]; sizes: number[]; peers: string[]; budgetMs: number; batch: number;
  mlpSteps: number; cnnSteps: number; windows: number; opSize: number; opIters: number; tfjsCpuMax: number; tfjsCpuCnn: boolean; torchThreads?: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    backend: "cpu", queue: 8,
    sections: ["matmul", "overhead", "mlp", "cnn"], sizes: [256, 512, 1024, 2048], peers: ["tfjs-wasm", "tfjs-cpu", "torch"],
    budgetMs: 1000, batch: 32, mlpSteps: 300, cnnSteps: 30, windows: 3, opSize: 100, opIters: 2000, tfjsCpuMax: 1024, tfjsCpuCnn: false,
  };
  for (const arg of argv) {
    const [key, value = ""] = arg.replace(/^--/, "").split("=");
    const list = () => value.split(",").filter(Boolean);
    switch (key) {
      case "backend":
        if (value !== "cpu" && value !== "webgpu") throw new Error(`bench/run: --backend must be cpu or webgpu, got '${value}'`);
        o.backend = value;
        if (o.peers.join() === "tfjs-wasm,tfjs-cpu,torch") o.peers = value === "webgpu" ? ["tfjs-webgpu", "torch-cuda"] : o.peers;
        break;
      case "queue": o.queue = Number(value); break;
      case "sections": o.sections = list(); break;
      case "sizes": o.sizes = list().map(Number); break;
      case "peers": o.peers = list(); break;
      case "budget-ms": o.budgetMs = Number(value); break;
      case "batch": o.batch = Number(value); break;
      case "mlp-steps": o.mlpSteps = Number(value); break;
      case "cnn-steps": o.cnnSteps = Number(value); break;
      case "windows": o.windows = Number(value); break;
      case "op-size": o.opSize = Number(value); break;
      case "tfjs-cpu-max": o.tfjsCpuMax = Number(value); break;
      case "torch-threads": o.torchThreads = Number(value); break;
      case "tfjs-cpu-cnn": o.tfjsCpuCnn = true; break;
      case "quick": Object.assign(o, { sizes: [256, 1024], budgetMs: 300, mlpSteps: 60, cnnSteps: 6 }); break;
      default: throw new Error(`bench/run: unknown option '${arg}'; see the header of bench/run.ts`);
    }
  }
  return o;
}

type Impl = {
  name: string;
  setup(): Promise<void>;
  matmul(size: number, budgetMs: number): Promise<number>;
  /** Throughput with `queue` products in flight and one small read (devices with a queue only). */
  matmulQueued?(size: number, budgetMs: number, queue: number): Promise<number>;
  overhead(size: number, iters: number): Promise<number>;
  mlp(spec: TrainSpec): Promise<number>;
  cnn(spec: TrainSpec): Promise<number>;
};

async function runImpl(impl: Impl, o: Options, results: BenchResult[]): Promise<void> {
  try {
    await impl.setup();
  } catch (e) {
    console.error(`# ${impl.name}: setup failed, skipped: ${(e as Error).message}`);
    return;
  }
  const add = (r: Omit<BenchResult, "impl">) => results.push(emit({ ...r, impl: impl.name }));
  // A peer that cannot run a workload (tfjs-wasm has no Conv2DBackpropFilter kernel) gets a note, not a number.
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      console.error(`# ${impl.name} ${what}: failed: ${(e as Error).message.split("\n")[0]}`);
    }
  };
  const slow = impl.name === "tfjs-cpu";
  if (o.sections.includes("matmul")) {
    for (const size of o.sizes) {
      if (slow && size > o.tfjsCpuMax) {
        console.error(`# tfjs-cpu matmul ${size}: skipped (above --tfjs-cpu-max=${o.tfjsCpuMax}; ≈1 GFLOP/s makes it take minutes)`);
        continue;
      }
      await attempt(`matmul ${size}`, async () => add({ bench: "matmul", size, value: await impl.matmul(size, o.budgetMs), unit: "GFLOP/s", higherIsBetter: true }));
    }
    if (impl.matmulQueued) {
      for (const size of o.sizes) {
        await attempt(`matmul-queued ${size}`, async () => add({ bench: "matmul-queued", size, value: await impl.matmulQueued!(size, o.budgetMs, o.queue), unit: "GFLOP/s", higherIsBetter: true }));
      }
    }
  }
  if (o.sections.includes("overhead")) {
    await attempt("op-overhead", async () => add({ bench: "op-overhead", size: o.opSize, value: await impl.overhead(o.opSize, o.opIters), unit: "us/op", higherIsBetter: false }));
  }
  if (o.sections.includes("mlp")) {
    const spec = { batch: o.batch, steps: slow ? Math.ceil(o.mlpSteps / 4) : o.mlpSteps, warmup: 5, windows: slow ? 1 : o.windows };
    await attempt("mlp-train", async () => add({ bench: "mlp-train", size: o.batch, value: await impl.mlp(spec), unit: "samples/s", higherIsBetter: true }));
  }
  if (o.sections.includes("cnn") && slow && !o.tfjsCpuCnn) {
    console.error("# tfjs-cpu cnn-train: skipped (under 1 sample/s here, minutes per step; --tfjs-cpu-cnn runs it)");
  } else if (o.sections.includes("cnn")) {
    const spec = { batch: o.batch, steps: slow ? Math.max(2, Math.ceil(o.cnnSteps / 5)) : o.cnnSteps, warmup: 2, windows: slow ? 1 : o.windows };
    await attempt("cnn-train", async () => add({ bench: "cnn-train", size: o.batch, value: await impl.cnn(spec), unit: "samples/s", higherIsBetter: true }));
  }
}

async function tfjsImpl(backend: "cpu" | "wasm" | "webgpu"): Promise<Impl> {
  // Loaded only when asked for, so dawnet alone runs without the peers installed.
  const t = await import("./tfjs-bench.js");
  return {
    name: `tfjs-${backend}`, setup: () => t.tfjsSetup(backend), matmul: t.tfjsMatmul, overhead: t.tfjsOpOverhead, mlp: t.tfjsMlp, cnn: t.tfjsCnn,
    matmulQueued: backend === "webgpu" ? t.tfjsMatmulQueued : undefined,
  };
}

function runTorch(o: Options, results: BenchResult[], device: "cpu" | "cuda"): void {
  // Debian's python3-torch here; on the GPU machine the python3 on PATH is the one with CUDA PyTorch.
  const python = process.env.DAWNET_BENCH_PYTHON ?? (device === "cuda" ? "python3" : "/usr/bin/python3");
  const script = join(dirname(fileURLToPath(import.meta.url)), "../../bench/torch_bench.py");
  if ((python.includes("/") && !existsSync(python)) || !existsSync(script)) {
    console.error(`# torch: skipped (${existsSync(script) ? python : script} not found)`);
    return;
  }
  const args = {
    sections: o.sections, sizes: o.sizes, opSize: o.opSize, opIters: o.opIters, budgetMs: o.budgetMs, threads: o.torchThreads, device, queue: o.queue,
    mlp: { batch: o.batch, steps: o.mlpSteps, warmup: 5, windows: o.windows }, cnn: { batch: o.batch, steps: o.cnnSteps, warmup: 2, windows: o.windows },
  };
  const r = spawnSync(python, [script, JSON.stringify(args)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) {
    const why = /No module named 'torch'/.test(r.stderr) ? "python3-torch is not installed (apt-get install python3-torch)" : r.stderr.trim().split("\n").pop();
    console.error(`# torch: skipped (${why})`);
    return;
  }
  for (const line of r.stdout.split("\n").filter(Boolean)) results.push(emit(JSON.parse(line) as BenchResult));
}

function fmt(v: number | undefined, unit: string): string {
  if (v === undefined) return "—";
  if (unit === "samples/s") return v.toFixed(0);
  return v >= 100 ? v.toFixed(0) : v.toFixed(unit === "us/op" ? 2 : 1);
}

function printTable(results: BenchResult[], backend: string): void {
  const impls = [...new Set(results.map((r) => r.impl))];
  const peers = impls.filter((i) => !i.startsWith("dawnet"));
  const rows = [...new Map(results.map((r) => [`${r.bench} ${r.size}`, r])).values()];
  const header = ["bench", "size", "unit", ...impls, ...peers.map((p) => `÷ ${p}`)];
  const table = rows.map((row) => {
    const value = (impl: string) => results.find((r) => r.bench === row.bench && r.size === row.size && r.impl === impl)?.value;
    const ours = value(`dawnet-${backend}`);
    const ratios = peers.map((p) => {
      const theirs = value(p);
      if (ours === undefined || theirs === undefined) return "—";
      return `${(row.higherIsBetter ? ours / theirs : theirs / ours).toFixed(2)}×`;
    });
    return [row.bench, String(row.size), row.unit, ...impls.map((i) => fmt(value(i), row.unit)), ...ratios];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((s, c) => (c < 3 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join("  ");
  console.log("");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of table) console.log(line(r));
  console.log("ratios: dawnet ÷ peer (for us/op: peer ÷ dawnet), > 1 means dawnet is faster");
  for (const impl of impls) {
    const notes = [...new Set(results.filter((r) => r.impl === impl && r.note).map((r) => r.note))];
    if (notes.length) console.log(`${impl}: ${notes.join("; ")}`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const results: BenchResult[] = [];
  // dawnet-<backend> trains through model.fit (what users run); dawnet-ops is the same step hand-written with ops.
  const setup = () => dawnetSetup(o.backend);
  const queued = o.backend === "webgpu" ? dawnetMatmulQueued : undefined;
  await runImpl({ name: `dawnet-${o.backend}`, setup, matmul: dawnetMatmul, matmulQueued: queued, overhead: dawnetOpOverhead, mlp: dawnetMlpFit, cnn: dawnetCnnFit }, o, results);
  if (o.sections.includes("mlp") || o.sections.includes("cnn")) {
    const trainOnly = { ...o, sections: o.sections.filter((s) => s === "mlp" || s === "cnn") };
    const none = async () => NaN;
    await runImpl({ name: `dawnet-${o.backend === "cpu" ? "" : o.backend + "-"}ops`, setup, matmul: none, overhead: none, mlp: dawnetMlp, cnn: dawnetCnn }, trainOnly, results);
  }
  for (const peer of o.peers) {
    if (peer === "tfjs-wasm" || peer === "tfjs-cpu" || peer === "tfjs-webgpu") {
      let impl: Impl;
      try {
        impl = await tfjsImpl(peer.slice("tfjs-".length) as "cpu" | "wasm" | "webgpu");
      } catch (e) {
        console.error(`# ${peer}: skipped (${(e as Error).message}; npm install @tensorflow/tfjs @tensorflow/${peer.replace("tfjs-", "tfjs-backend-")})`);
        continue;
      }
      await runImpl(impl, o, results);
    } else if (peer === "torch" || peer === "torch-cpu") runTorch(o, results, "cpu");
    else if (peer === "torch-cuda") runTorch(o, results, "cuda");
    else throw new Error(`bench/run: unknown peer '${peer}' (expected tfjs-wasm, tfjs-cpu, tfjs-webgpu, torch, torch-cuda)`);
  }
  printTable(results, o.backend);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

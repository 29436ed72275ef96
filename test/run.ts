/**
 * Test runner: every compiled `*.test.js` under dist/test runs in its own Node process (uvu inside),
 * two at a time. Prints failures and skip reasons, then the closing line `N passed, N failed[, N skipped]`.
 * A run that executed no test fails.
 *
 * Library suites (core ops, autograd, gradcheck, nn, optim, io) run once per backend: cpu, then webgpu
 * when an adapter exists; without one the webgpu runs are reported as skipped with the reason.
 *
 *   node dist/test/run.js [filter...]      run the files whose path contains a filter
 *   DAWNET_TEST_JOBS=1                     run one file at a time
 *   DAWNET_TEST_BACKENDS=cpu               restrict the library suites to these backends
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";

const here = dirname(fileURLToPath(import.meta.url));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

/** Files whose tests are backend-independent library checks, run on every backend. */
const PER_BACKEND = /(^|\/)(core-|autograd|gradcheck|nn|optim|io)[^/]*\.test\.js$/;

/** Probes for a WebGPU adapter in a child process (a crash there must not take the runner down). */
function probeWebGPU(): Promise<string | null> {
  const probe = `import("${join(here, "..", "lib", "backend", "webgpu", "webgpu.js").replace(/\\/g, "/")}")
    .then((m) => m.createWebGPUBackend()).then((b) => { console.log("unavailable" in b ? "NO " + b.unavailable : "OK"); process.exit(0); })
    .catch((e) => { console.log("NO " + String(e && e.message || e).split("\\n")[0]); process.exit(0); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", probe], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("close", () => {
      const line = out.split("\n").find((l) => l.startsWith("OK") || l.startsWith("NO ")) ?? "NO the adapter probe crashed";
      resolve(line === "OK" ? null : line.slice(3));
    });
  });
}

interface Job { file: string; backend?: string }
interface Result { file: string; total: number; passed: number; skipped: number; code: number; out: string; ms: number }

// uvu colors its summary; strip ANSI codes before parsing.
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

function runFile(job: Job): Promise<Result> {
  const { file } = job;
  const t0 = Date.now();
  const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: "0" };
  if (job.backend) env.DAWNET_BACKEND = job.backend;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => {
      const text = strip(out);
      const num = (label: string) => {
        const m = text.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, "m"));
        return m ? Number(m[1]) : 0;
      };
      resolve({ file, total: num("Total"), passed: num("Passed"), skipped: num("Skipped"), code: code ?? 1, out: text, ms: Date.now() - t0 });
    });
  });
}

/** uvu's Total excludes skipped tests. A crashed file (non-zero exit, or nothing run) counts at least one failure. */
function failures(r: Result): number {
  const f = r.total - r.passed;
  return r.code !== 0 || (r.total === 0 && r.skipped === 0) ? Math.max(1, f) : f;
}

async function main() {
  const filters = process.argv.slice(2);
  let files = findTests(here);
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  const parallel = Number(process.env.DAWNET_TEST_JOBS) || Math.min(2, cpus().length);
  const wanted = (process.env.DAWNET_TEST_BACKENDS ?? "cpu,webgpu").split(",");
  const noGpu = wanted.includes("webgpu") && files.some((f) => PER_BACKEND.test(f)) ? await probeWebGPU() : "not requested (DAWNET_TEST_BACKENDS)";
  const jobs: Job[] = [];
  let gpuSkipped = 0;
  for (const file of files) {
    if (!PER_BACKEND.test(file)) jobs.push({ file });
    else {
      if (wanted.includes("cpu")) jobs.push({ file, backend: "cpu" });
      if (noGpu === null) jobs.push({ file, backend: "webgpu" });
      else gpuSkipped++;
    }
  }
  if (gpuSkipped) console.log(`skipped: ${gpuSkipped} library suites on webgpu: ${noGpu}`);
  const results: Result[] = [];
  let next = 0;
  async function worker() {
    while (next < jobs.length) {
      const job = jobs[next++];
      const r = await runFile(job);
      results.push(r);
      const name = relative(here, job.file) + (job.backend ? ` [${job.backend}]` : "");
      const failed = failures(r);
      const status = failed ? "FAIL" : "ok  ";
      console.log(`${status} ${name}  (${r.passed}/${r.total} passed${r.skipped ? `, ${r.skipped} skipped` : ""}, ${(r.ms / 1000).toFixed(1)} s)`);
      if (failed) console.log(r.out.split("\n").map((l) => "     " + l).join("\n"));
      else for (const line of r.out.split("\n")) if (/^\s*skipped:/.test(line)) console.log("     " + line.trim());
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  let passed = 0, failed = 0, skipped = gpuSkipped;
  for (const r of results) {
    passed += r.passed;
    skipped += r.skipped;
    failed += failures(r);
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

main();

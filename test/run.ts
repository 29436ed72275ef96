/**
 * Test runner: every compiled `*.test.js` under dist/test runs in its own Node process (uvu inside),
 * two at a time. Prints failures and skip reasons, then the closing line `N passed, N failed[, N skipped]`.
 * A run that executed no test fails.
 *
 *   node dist/test/run.js [filter...]      run the files whose path contains a filter
 *   DAWNET_TEST_JOBS=1                     run one file at a time
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

interface Result { file: string; total: number; passed: number; skipped: number; code: number; out: string; ms: number }

// uvu colors its summary; strip ANSI codes before parsing.
const strip = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

function runFile(file: string): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
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

async function main() {
  const filters = process.argv.slice(2);
  let files = findTests(here);
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  const jobs = Number(process.env.DAWNET_TEST_JOBS) || Math.min(2, cpus().length);
  const results: Result[] = [];
  let next = 0;
  async function worker() {
    while (next < files.length) {
      const file = files[next++];
      const r = await runFile(file);
      results.push(r);
      const name = relative(here, file);
      const failed = r.code !== 0 || r.total === 0 ? Math.max(1, r.total - r.passed - r.skipped) : r.total - r.passed - r.skipped;
      const status = failed ? "FAIL" : "ok  ";
      console.log(`${status} ${name}  (${r.passed}/${r.total} passed${r.skipped ? `, ${r.skipped} skipped` : ""}, ${(r.ms / 1000).toFixed(1)} s)`);
      if (failed) console.log(r.out.split("\n").map((l) => "     " + l).join("\n"));
      else for (const line of r.out.split("\n")) if (/^\s*skipped:/i.test(line)) console.log("     " + line.trim());
    }
  }
  await Promise.all(Array.from({ length: jobs }, worker));
  let passed = 0, failed = 0, skipped = 0;
  for (const r of results) {
    passed += r.passed;
    skipped += r.skipped;
    // A crashed file (non-zero exit, or no summary) counts at least one failure.
    const f = r.total - r.passed - r.skipped;
    failed += r.code !== 0 || r.total === 0 ? Math.max(1, f) : f;
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

main();

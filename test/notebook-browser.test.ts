/**
 * What a learner sees: tutorial 6 served by the classic Jupyter Notebook and opened in headless Chromium.
 * The saved live training chart (SVG) renders, the notebook is trusted and the dawnet kernel is found.
 * Screenshot: test-artifacts/notebook-classic-06.png.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const test = suite("classic notebook in chromium");
const chromium = "/usr/bin/chromium";
const python = "/usr/bin/python3";

function missing(): string | null {
  if (!existsSync(chromium)) return "chromium is not installed (apt-get install chromium)";
  try {
    execFileSync(python, ["-c", "import notebook, nbformat"], { stdio: "ignore" });
  } catch {
    return "the classic Jupyter Notebook is not installed (apt-get install jupyter-notebook)";
  }
  return null;
}

const freePort = () =>
  new Promise<number>((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });

function browse(url: string, args: string[], dir: string): string {
  return execFileSync(chromium, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", `--user-data-dir=${dir}`, "--virtual-time-budget=20000", ...args, url,
  ], { encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
}

const why = missing();
if (why) {
  console.log(`skipped: ${why}`);
  test.skip("tutorial 6 renders its live chart in the classic Notebook", () => {});
} else {
  test("tutorial 6 renders its live chart in the classic Notebook", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dawnet-browser-"));
    let server: ChildProcess | undefined;
    try {
      const nbDir = join(dir, "notebooks");
      mkdirSync(nbDir);
      const nb = join(nbDir, "06-mnist-mlp.ipynb");
      copyFileSync(join(root, "notebooks", "06-mnist-mlp.ipynb"), nb);
      const env = {
        ...process.env, JUPYTER_DATA_DIR: join(dir, "data"), JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
        JUPYTER_CONFIG_DIR: join(dir, "config"), JUPYTER_PATH: join(dir, "prefix", "share", "jupyter"), DAWNET_BACKEND: "cpu",
      };
      execFileSync(process.execPath, [join(root, "bin", "dawnet.js"), "kernel", "install", "--prefix", join(dir, "prefix")], { env, stdio: "ignore" });
      // Outputs a notebook did not produce in this browser are untrusted (no SVG) until signed.
      execFileSync(python, ["-m", "nbformat.sign", nb], { env, stdio: "ignore" });
      const port = await freePort();
      server = spawn(python, ["-m", "notebook", "--no-browser", "--allow-root", `--port=${port}`, "--NotebookApp.token=dawnet",
        `--notebook-dir=${nbDir}`], { env, stdio: "ignore" });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        try {
          if ((await fetch(`${base}/api?token=dawnet`)).ok) break;
        } catch {
          /* not up yet */
        }
        if (i > 100) assert.unreachable("the notebook server did not start within 30 s");
        await new Promise((r) => setTimeout(r, 300));
      }
      const url = `${base}/notebooks/06-mnist-mlp.ipynb?token=dawnet`;
      const dom = browse(url, ["--dump-dom"], join(dir, "chrome1"));
      assert.not.match(dom, /Could not find a kernel matching/, "the dawnet kernelspec was not found");
      assert.match(dom, /TypeScript \(dawnet\)/);
      assert.not.match(dom, />Not Trusted</, "the signed notebook shows as untrusted");
      const fit = dom.indexOf("Epoch 5/5");
      assert.ok(fit > 0, "the training progress line is missing");
      // fit's one live output: the progress line with the loss chart drawn as inline SVG beneath it
      const svgAfterFit = dom.indexOf("<svg", fit);
      assert.ok(svgAfterFit > fit && svgAfterFit - fit < 2_000, "the live loss chart (SVG) does not render under the fit cell");
      assert.match(dom.slice(svgAfterFit, svgAfterFit + 60_000), /<svg[^>]*>[\s\S]*?>loss</, "the chart has no loss axis");
      const svgs = dom.match(/class="output_subarea output_svg/g)?.length ?? 0;
      const pngs = dom.match(/class="output_subarea output_png/g)?.length ?? 0;
      // Charts and images are PNG by default (nbconvert 6.5 strips SVG); fit's live output is HTML with inline SVG.
      assert.ok(pngs >= 4, `expected charts and images as PNG, got ${svgs} SVG and ${pngs} PNG outputs`);
      const shots = join(root, "test-artifacts");
      mkdirSync(shots, { recursive: true });
      const shot = join(shots, "notebook-classic-06.png");
      browse(url, ["--window-size=1100,2200", `--screenshot=${shot}`], join(dir, "chrome2"));
      assert.ok(statSync(shot).size > 20_000, "the screenshot is (nearly) empty");
      console.log(`  ${svgs} SVG + ${pngs} PNG outputs rendered; screenshot ${shot}`);
    } finally {
      server?.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 300));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();

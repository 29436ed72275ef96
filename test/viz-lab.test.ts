/**
 * JupyterLab draws `application/vnd.vegalite.v5+json` itself, with the vega 5 / vega-lite 5 of its built-in
 * renderer (@jupyterlab/vega5-extension), while dawnet renders its static images with vega 6 / vega-lite 6.
 * Every chart whose bundle carries the vega-lite MIME is compiled here with vega-lite 5 and drawn with vega 5
 * (test/lab-compat, installed by .ci/run): no errors, no warnings, and the marks, axis titles and texts that the
 * vega 6 rendering has.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as dn from "../lib/index.js";
import * as viz from "../lib/viz/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const labModules = join(root, "test", "lab-compat", "node_modules");
const MIME = "application/vnd.vegalite.v5+json";

interface VegaLite5 { version: string; compile(spec: object, opts?: { logger?: object }): { spec: object } }
interface Vega5 {
  version: string;
  parse(spec: object): object;
  View: new (runtime: object, opts: { renderer: string; logger?: object }) => { toSVG(): Promise<string>; finalize(): void };
  logger(level?: number): object;
}

/** Loads a package from test/lab-compat (CommonJS entries: vega-node.js, vega-lite's UMD build), not the project's vega 6. */
function load<T>(name: string): T {
  return createRequire(join(labModules, "..", "package.json"))(name) as T;
}

/** Collects what a vega or vega-lite logger would print. */
function collectingLogger(sink: string[]) {
  let level = 2;
  const logger = {
    level(l?: number) { if (l === undefined) return level; level = l; return logger; },
    error(...a: unknown[]) { sink.push(`error: ${a.join(" ")}`); return logger; },
    warn(...a: unknown[]) { sink.push(`warn: ${a.join(" ")}`); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

/** Mark groups by type and the texts of axis titles: what both renderers must agree on. */
function summary(svg: string): { marks: Record<string, number>; titles: string[] } {
  const marks: Record<string, number> = {};
  for (const m of svg.matchAll(/<g class="mark-([a-z]+) role-mark/g)) marks[m[1]] = (marks[m[1]] ?? 0) + 1;
  const titles: string[] = [];
  for (const m of svg.matchAll(/<g class="mark-text role-axis-title"[^>]*>([\s\S]*?)<\/g>/g)) {
    for (const t of m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)) titles.push(t[1]);
  }
  return { marks, titles };
}

const installed = existsSync(join(labModules, "vega", "package.json")) && existsSync(join(labModules, "vega-lite", "package.json"));
if (!installed) console.log("skipped: JupyterLab vega 5 rendering: test/lab-compat is not installed (run `npm ci --prefix test/lab-compat`; .ci/run does)");
const it = installed ? test : test.skip;

it("every vega-lite chart compiles with vega-lite 5 and draws with vega 5 as it does with vega 6", async () => {
  const vl5 = load<VegaLite5>("vega-lite");
  const vega5 = load<Vega5>("vega");
  assert.match(vl5.version, /^5\./);
  assert.match(vega5.version, /^5\./);
  const vl6 = (await import("vega-lite")) as unknown as VegaLite5;
  const vega6 = (await import("vega")) as unknown as Vega5;

  dn.manualSeed(1);
  const model = new dn.Sequential([new dn.Dense(4, { activation: "relu", inputShape: [3] }), new dn.Dense(2, { activation: "softmax" })]);
  model.compile({ optimizer: "sgd", loss: "sparse_categorical_crossentropy" });
  const live = viz.liveLossCurve({ display: null });
  for (let e = 0; e < 3; e++) {
    for (let b = 0; b < 5; b++) live.onBatchEnd(e * 5 + b, { loss: 1 / (1 + e + b / 5) });
    live.onEpochEnd(e, { loss: 1 / (1 + e), val_loss: 1.2 / (1 + e), accuracy: 0.5 + e / 10 });
  }
  const charts: [string, { displayBundle(): Promise<{ data: Record<string, unknown> }>; toSVG(): Promise<string> }][] = [
    ["lossCurve", viz.lossCurve({ loss: [1, 0.5, 0.3], val_loss: [1.1, 0.7, 0.5] }, { logScale: true })],
    ["lineChart", viz.lineChart({ a: [1, 2, 3], b: [3, 2, 1] }, { xTitle: "step", yTitle: "value" })],
    ["liveLossCurve", live],
    ["heatmap", await viz.heatmap(dn.tensor([[0.5, -0.2, 0.1], [-0.4, 0.3, 0]]), { title: "weights" })],
    ["confusionMatrix", await viz.confusionMatrix([0, 1, 2, 2, 1, 0], dn.tensor([0, 2, 2, 2, 1, 0]), { labels: ["cat", "dog", "bird"] })],
    ["histogram", await viz.histogram({ w: dn.randn([200]), g: dn.randn([200]) }, { bins: 10 })],
    ["activationPlot", viz.activationPlot(["relu", "sigmoid", "tanh"], { derivatives: true })],
    ["scatter", await viz.scatter(dn.randn([20, 2]), { color: Array.from({ length: 20 }, (_, i) => i % 3) })],
    ["plotModel", viz.plotModel(model)],
  ];
  let checked = 0;
  for (const [name, chart] of charts) {
    const bundle = (await chart.displayBundle()).data;
    assert.ok(bundle[MIME], `${name}: its bundle has no ${MIME}`);
    const draw = async (vl: VegaLite5, vg: Vega5) => {
      const messages: string[] = [];
      const compiled = vl.compile(bundle[MIME] as object, { logger: collectingLogger(messages) }).spec;
      const view = new vg.View(vg.parse(compiled), { renderer: "none", logger: collectingLogger(messages) });
      const svg = await view.toSVG();
      view.finalize();
      return { svg, messages };
    };
    const inLab = await draw(vl5, vega5);
    const ours6 = await draw(vl6, vega6);
    // A live chart's empty layers (kept so its cached view can swap data in) give vega's "infinite extent"
    // warnings in both majors; what Lab reports must be no more than that.
    assert.ok(inLab.messages.every((m) => /Infinite extent/.test(m)), `${name}: vega(-lite) 5 reported ${inLab.messages.join("; ")}`);
    assert.equal(inLab.messages, ours6.messages, `${name}: vega 5 and vega 6 report different problems`);
    if (name !== "liveLossCurve") assert.equal(inLab.messages, [], `${name}: a finished chart should draw without warnings`);
    const lab = summary(inLab.svg), ours = summary(await chart.toSVG());
    assert.ok(Object.keys(lab.marks).length > 0, `${name}: vega 5 drew no marks`);
    assert.equal(lab.marks, ours.marks, `${name}: mark groups differ between vega 5 and vega 6`);
    assert.equal(lab.titles, ours.titles, `${name}: axis titles differ between vega 5 and vega 6`);
    checked++;
  }
  assert.is(checked, charts.length);
  console.log(`  ${checked} charts drawn alike by vega ${vega5.version} / vega-lite ${vl5.version} (JupyterLab) and by dawnet's vega 6`);
});

test.run();

/**
 * Charts: every builder's vega-lite spec compiles, its SVG (rendered in Node by vega) holds the marks,
 * axis titles and values it should, PNGs decode to the expected size, and files are written atomically.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "fast-png";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as dn from "../lib/index.js";
import * as viz from "../lib/viz/index.js";
import { useBackend } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Items drawn by marks of one vega type (e.g. "symbol", "rect", "image", "text", "line", "rule"), excluding axes/legends. */
function markItems(svg: string, type: string): string[] {
  const items: string[] = [];
  const groupRe = new RegExp(`<g class="mark-${type} role-mark[^"]*"[^>]*>([\\s\\S]*?)</g>`, "g");
  for (const m of svg.matchAll(groupRe)) {
    const inner = m[1];
    const tag = type === "symbol" || type === "line" || type === "rect" || type === "area" ? "path" : type === "rule" ? "line" : type;
    // Invisible items (the points that carry a raster's colorbar scale) do not count.
    for (const item of inner.matchAll(new RegExp(`<${tag}[ >][^>]*>`, "g"))) if (!/opacity="0"/.test(item[0])) items.push(item[0]);
  }
  return items;
}

function axisTitles(svg: string): string[] {
  const titles: string[] = [];
  for (const m of svg.matchAll(/<g class="mark-text role-axis-title"[^>]*>([\s\S]*?)<\/g>/g)) {
    for (const t of m[1].matchAll(/<text[^>]*>([^<]*)<\/text>/g)) titles.push(t[1]);
  }
  return titles;
}

function svgSize(svg: string): [number, number] {
  const m = svg.match(/<svg[^>]*width="(\d+)" height="(\d+)"/);
  assert.ok(m, "svg has width/height");
  return [Number(m![1]), Number(m![2])];
}

function dataUrlPng(url: string) {
  return decode(Buffer.from(url.replace(/^data:image\/png;base64,/, ""), "base64"));
}

const history = {
  history: { loss: [1.0, 0.6, 0.4, 0.3, 0.25], val_loss: [1.1, 0.7, 0.5, 0.45, 0.44], accuracy: [0.5, 0.7, 0.8, 0.85, 0.9], val_accuracy: [0.45, 0.65, 0.75, 0.8, 0.82] },
  epoch: [0, 1, 2, 3, 4],
};

test.before(async () => {
  await useBackend(); // charts read tensors with data(), on whichever backend DAWNET_BACKEND names
});

test("lossCurve: one panel per metric, train and validation points, epoch axis", async () => {
  const chart = viz.lossCurve(history);
  await chart.compile();
  const svg = await chart.toSVG();
  assert.equal(markItems(svg, "line").length, 4, "4 epoch-level lines (train/val × loss/accuracy)");
  assert.equal(markItems(svg, "symbol").length, 20, "5 epochs × 4 series points");
  const titles = axisTitles(svg);
  for (const t of ["epoch", "loss", "accuracy"]) assert.ok(titles.includes(t), `axis title ${t} in ${titles}`);
  assert.match(svg, />validation</);
  assert.match(chart.describe(), /5 epochs.*val_loss=0\.44/);
  // A plain record works too, and x runs 1..5.
  const plain = viz.lossCurve({ loss: [3, 2, 1] });
  const datasets = plain.spec.datasets as Record<string, { x: number }[]>;
  assert.equal(datasets.epoch_0.map((r) => r.x), [1, 2, 3]);
});

test("lossCurve logScale: loss panel on a log axis, accuracy panel linear", async () => {
  const chart = viz.lossCurve({ loss: [100, 10, 1, 0.1] }, { logScale: true });
  const panels = chart.spec.hconcat as { layer: { encoding: { y: { scale: { type?: string } } } }[] }[];
  // A history has no batch values: the empty batch layer is left out, the epoch layer is the only one.
  assert.is(panels[0].layer.length, 1);
  assert.is(panels[0].layer[0].encoding.y.scale.type, "log");
  const svg = await chart.toSVG();
  // Log ticks at decades: 0.1, 1, 10, 100 all labelled.
  for (const label of ["0.1", "1", "10", "100"]) assert.match(svg, new RegExp(`>${label.replace(".", "\\.")}<`));
  const mixed = viz.lossCurve(history, { logScale: true }).spec.hconcat as { layer: { encoding: { y: { scale: { type?: string } } } }[] }[];
  assert.is(mixed[1].layer[0].encoding.y.scale.type, undefined);
});

test("lineChart: a line per series with its points", async () => {
  const chart = viz.lineChart({ a: [1, 2, 3], b: [3, 2, 1] }, { xTitle: "step", yTitle: "value" });
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "line").length, 2);
  assert.is(markItems(svg, "symbol").length, 6);
  assert.ok(axisTitles(svg).includes("step"));
});

test("heatmap (small): a rect per cell, colorbar symmetric around 0, values written in cells", async () => {
  const m = dn.tensor([[-2, 0, 1, 0.5], [0.25, -1, 0, 1], [1, 1, 1, 1]]);
  const chart = await viz.heatmap(m, { title: "weights" });
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "rect").length, 12);
  assert.match(svg, /role-legend/);
  assert.match(svg, /linearGradient/, "continuous colorbar");
  const layer0 = (chart.spec.layer as { encoding: { color: { scale: { domain: number[] } } } }[])[0];
  assert.equal(layer0.encoding.color.scale.domain, [-2, 2]);
  const texts = markItems(svg, "text");
  assert.is(texts.length, 12);
  assert.match(svg, />−2<|>-2</);
  assert.is(chart.raster, false);
  assert.match(String(chart), /heatmap \[3, 4\] \(min -2, max 1\)/);
});

test("heatmap (large): one PNG image with the right colors at the right corners, small SVG", async () => {
  const n = 128;
  const values = new Float32Array(n * n);
  values[0] = -1; // top-left: darkest blue
  values[n * n - 1] = 1; // bottom-right: darkest red
  const chart = await viz.heatmap(dn.tensor(values, { shape: [n, n] }));
  assert.is(chart.raster, true);
  const svg = await chart.toSVG();
  assert.ok(svg.length < 300_000, `SVG is ${svg.length} bytes`);
  assert.is(markItems(svg, "image").length, 1);
  const url = ((chart.spec.layer as { data: { values: { url: string }[] } }[])[0].data.values[0].url);
  const png = dataUrlPng(url);
  assert.ok(png.width >= n && png.width % n === 0, `PNG width ${png.width} is a multiple of ${n}`);
  const k = png.width / n;
  const px = (x: number, y: number) => Array.from(png.data.slice((y * png.width + x) * 4, (y * png.width + x) * 4 + 3));
  assert.equal(px(0, 0), [5, 48, 97], "−1 → RdBu's darkest blue");
  assert.equal(px(png.width - 1, png.height - 1), [103, 0, 31], "+1 → RdBu's darkest red");
  const centre = px(k * 64, k * 64);
  assert.ok(centre.every((c) => Math.abs(c - 247) <= 2), `0 → RdBu's white centre, got ${centre}`);
  const bundle = await chart.mimeBundle();
  assert.ok(bundle["image/png"], "raster charts come to notebooks as PNG");
  assert.not.ok(bundle["application/vnd.vegalite.v5+json"], "not also as the spec, which embeds the same pixels");
  const decoded = decode(Buffer.from(bundle["image/png"] as string, "base64"));
  const [w, h] = svgSize(svg);
  assert.equal([decoded.width, decoded.height], [w, h]);
});

test("confusionMatrix: counts, accuracy, one annotated cell per pair", async () => {
  const chart = await viz.confusionMatrix([0, 1, 2, 2, 1, 0, 0, 2], dn.tensor([0, 2, 2, 2, 1, 0, 1, 1]), { labels: ["cat", "dog", "bird"] });
  assert.equal(chart.counts, [[2, 1, 0], [0, 1, 1], [0, 1, 2]]);
  assert.is(chart.accuracy, 5 / 8);
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "rect").length, 9);
  const titles = axisTitles(svg);
  assert.ok(titles.includes("predicted") && titles.includes("true"), String(titles));
  for (const name of ["cat", "dog", "bird"]) assert.match(svg, new RegExp(`>${name}<`));
  // Scores [N, K] are reduced by argmax.
  const fromScores = await viz.confusionMatrix([1, 0], [[0.2, 0.8], [0.9, 0.1]]);
  assert.equal(fromScores.counts, [[1, 0], [0, 1]]);
});

test("imageGrid: an image per input, captions, mistakes outlined in red, pixels normalized", async () => {
  const n = 12;
  const data = new Float32Array(n * 8 * 8);
  for (let i = 0; i < n; i++) data[i * 64 + 9] = 1; // one white pixel at (1, 1) of each black image
  const labels = Array.from({ length: n }, (_, i) => i % 10);
  const predictions = labels.map((l, i) => (i === 3 || i === 7 ? (l + 1) % 10 : l));
  const chart = await viz.imageGrid(dn.tensor(data, { shape: [n, 8, 8] }), { labels, predictions, cols: 6 });
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "image").length, n);
  const rects = markItems(svg, "rect");
  assert.is(rects.length, 2, "two mistakes outlined");
  assert.match(rects[0], /stroke="#d62728"/);
  assert.match(svg, /<tspan[^>]*>4<\/tspan><tspan[^>]*>\(3\)<\/tspan>/, "wrong caption: predicted, then (true) on a second line");
  assert.match(chart.describe(), /12 images 8×8, 2 mistakes/);
  const url = ((chart.spec.layer as { data: { values: { url: string }[] } }[])[0].data.values[0].url);
  const png = dataUrlPng(url);
  const k = png.width / 8;
  const px = (x: number, y: number) => png.data[(y * png.width + x) * 4];
  assert.is(px(0, 0), 0);
  assert.is(px(k, k), 255, "value 1 of a [0, 1] image is white");
  const bytes = await chart.toPNG({ scale: 1 });
  const decoded = decode(bytes);
  assert.equal([decoded.width, decoded.height], svgSize(svg));
});

test("imageGrid: class-name captions fit their column at the default tile size (not cut), long ones shortened", async () => {
  const names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
  const n = 10;
  const chart = await viz.imageGrid(dn.zeros([n, 28, 28]), { labels: [...Array(n).keys()], predictions: [...Array(n).keys()].map((i) => (i === 9 ? 0 : i)), classNames: names, cols: 5 });
  const svg = await chart.toSVG();
  const layers = chart.spec.layer as { mark: { type: string; limit?: number }; data: { values: { x: number; x2: number; text: string | string[] }[] } }[];
  const captionLayer = layers.find((l) => l.mark.type === "text")!;
  assert.not.ok(captionLayer.mark.limit, "no vega limit (vega's canvas-less estimate would cut the names)");
  const texts = captionLayer.data.values.map((v) => v.text);
  assert.equal(texts.slice(0, 9), names.slice(0, 9), "whole names");
  assert.equal(texts[9], ["T-shirt/top", "(Ankle boot)"], "a mistake: prediction, then the true class on its own line");
  assert.not.match(svg, /…/);
  // Columns are at least as wide as the longest caption as DejaVu Sans draws it (≈ 6.4 px per character at 11 px).
  const images = layers[0].data.values;
  const pitch = images[1].x - images[0].x;
  assert.ok(pitch >= 11 * 6.4, `column pitch ${pitch} px fits "T-shirt/top" and "(Ankle boot)"`);
  const long = await viz.imageGrid(dn.zeros([1, 28, 28]), { labels: ["a very long class name that cannot fit in any column at all"] });
  const longText = (long.spec.layer as { mark: { type: string }; data: { values: { text: string }[] } }[]).find((l) => l.mark.type === "text")!.data.values[0].text;
  assert.match(longText, /^a very long class name.*…$/);
  assert.ok(longText.length < 40);
});

test("imageGrid: named groups side by side; RGB; [N,H,W,C] and channels-first agree", async () => {
  const a = dn.rand([4, 6, 6]);
  const chart = await viz.imageGrid({ input: a, reconstruction: a }, { cols: 4 });
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "image").length, 8);
  assert.match(svg, />reconstruction</);
  const nhwc = dn.rand([2, 5, 5, 3]);
  const nchw = nhwc.permute([0, 3, 1, 2]);
  const c1 = await viz.imageGrid(nhwc);
  const c2 = await viz.imageGrid(nchw, { channelsFirst: true });
  const urls = (c: viz.VegaLiteChart) => (c.spec.layer as { data: { values: { url: string }[] } }[])[0].data.values.map((v) => v.url);
  assert.equal(urls(c1), urls(c2));
  try {
    await viz.imageGrid(dn.rand([2, 5, 5, 7]));
    assert.unreachable("7 channels should be rejected");
  } catch (e) {
    assert.match((e as Error).message, /imageGrid: images \[N, H, W, C\] need C in 1, 3, 4; got shape \[2,5,5,7\]/);
  }
});

test("convFilters and featureMaps: one tile per filter / channel", async () => {
  const filters = await viz.convFilters(dn.randn([3, 3, 2, 8]));
  assert.is(markItems(await filters.toSVG(), "image").length, 8);
  const maps = await viz.featureMaps(dn.rand([1, 7, 7, 5]));
  assert.is(markItems(await maps.toSVG(), "image").length, 5);
});

test("gradCamOverlay: image, upsampled heatmap and overlay; hottest cell lands where the map peaks", async () => {
  const image = dn.zeros([16, 16]);
  const cam = [[0, 0], [0, 1]]; // peak bottom-right
  const chart = await viz.gradCamOverlay(image, cam, { alpha: 1 });
  const values = (chart.spec.layer as { data: { values: { url: string }[] } }[])[0].data.values;
  assert.is(values.length, 3);
  const overlay = dataUrlPng(values[2].url);
  const px = (x: number, y: number) => Array.from(overlay.data.slice((y * overlay.width + x) * 4, (y * overlay.width + x) * 4 + 3));
  assert.equal(px(overlay.width - 1, overlay.height - 1), [127, 0, 0], "peak → jet's dark red (alpha 1)");
  assert.equal(px(0, 0), [0, 0, 127], "zero → jet's dark blue");
  // [1, H, W] and RGB [H, W, 3] images work too.
  assert.match((await viz.gradCamOverlay(dn.zeros([1, 16, 16]), cam)).describe(), /image 16×16, heatmap 2×2/);
  assert.match((await viz.gradCamOverlay(dn.rand([12, 10, 3]), cam)).describe(), /image 12×10, heatmap 2×2/);
  const up = viz.resizeBilinear(Float64Array.from([0, 1]), 1, 2, 1, 4);
  assert.equal(Array.from(up), [0, 0.25, 0.75, 1]);
});

test("histogram: bins hold every value; per-tensor panels and the mean |value| summary", async () => {
  const w = dn.randn([50, 20]);
  const g = dn.randn([20]).mul(1e-4);
  const chart = await viz.histogram({ w, g }, { bins: 10 });
  const panels = chart.spec.concat as { data: { values: { count: number }[] } }[];
  assert.is(panels.length, 3);
  assert.is(panels[1].data.values.reduce((a, r) => a + r.count, 0), 1000);
  assert.is(panels[2].data.values.reduce((a, r) => a + r.count, 0), 20);
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "rect").length, 20 + 2, "10 bins × 2 tensors + 2 summary bars");
  const stats = viz.valueStats([1, -1, 0, NaN]);
  assert.equal([stats.count, stats.mean, stats.meanAbs, stats.zeros, stats.nonFinite], [3, 0, 2 / 3, 1 / 3, 1]);
});

test("activationPlot: derivatives match finite differences for every activation", async () => {
  for (const [name, [f, df]] of Object.entries(viz.ACTIVATIONS)) {
    for (const x of [-2.3, -0.7, 0.4, 1.9]) {
      const h = 1e-5;
      const numeric = (f(x + h) - f(x - h)) / (2 * h);
      assert.ok(Math.abs(numeric - df(x)) < 1e-5, `${name}'(${x}) = ${df(x)}, finite difference ${numeric}`);
    }
  }
  const chart = viz.activationPlot(["relu", "sigmoid", "tanh"], { derivatives: true });
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "line").length, 6);
  const titles = axisTitles(svg);
  assert.ok(titles.includes("f(x)") && titles.includes("f'(x)"), String(titles));
  assert.throws(() => viz.activationPlot(["nope"]), /unknown activation "nope"/);
});

test("scatter and decisionBoundary: points by class, regions from the classifier, p = 0.5 line", async () => {
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 40; i++) {
    const a = (i / 40) * 2 * Math.PI;
    const r = i % 2 ? 2 : 0.5;
    x.push([r * Math.cos(a), r * Math.sin(a)]);
    y.push(i % 2);
  }
  const sc = await viz.scatter(dn.tensor(x), { color: y });
  assert.is(markItems(await sc.toSVG(), "symbol").length, 40);
  let calls = 0;
  // Radius > 1.25 → class 1, as probabilities [N, 2] from a tensor function.
  const predict = (t: dn.Tensor) => {
    calls++;
    const r = t.square().sum(1).sqrt();
    const p1 = r.sub(1.25).mul(8).sigmoid().reshape([-1, 1]);
    return dn.concat([dn.sub(1, p1), p1], 1);
  };
  const chart = await viz.decisionBoundary(predict, x, y, { resolution: 50 });
  assert.is(calls, 1, "the whole grid goes to the classifier in one call");
  assert.match(chart.describe(), /2 classes, 40 points, 100% of points inside their class region/);
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "image").length, 1);
  assert.is(markItems(svg, "symbol").length, 40);
  const boundary = (chart.spec.layer as { data: { values: { x: number; y: number; line: number }[] } }[])[1].data.values;
  assert.ok(boundary.length > 20);
  assert.equal([...new Set(boundary.map((p) => p.line))], [0], "the circle is one closed line");
  for (const p of boundary) assert.ok(Math.abs(Math.hypot(p.x, p.y) - 1.25) < 0.15, `boundary point at radius ${Math.hypot(p.x, p.y)}`);
  assert.equal(boundary[0], { ...boundary[boundary.length - 1], k: 0 }, "closed: last point = first point");
  // A model object with an async predict works the same.
  const viaModel = await viz.decisionBoundary({ predict: async (t: dn.Tensor) => predict(t) }, x, y, { resolution: 20 });
  assert.match(viaModel.describe(), /2 classes/);
  // In a notebook: the PNG alone (the spec embeds the same raster; it stays in chart.spec).
  const data = (await chart.displayBundle()).data;
  assert.equal(Object.keys(data).sort(), ["image/png", "text/plain"]);
  assert.is((JSON.stringify(data).match(/data:image\/png;base64|"iVBOR/g) ?? []).length, 1);
});

test("contourPolylines: segments joined into one closed circle; open lines end on the border", () => {
  const xs = Array.from({ length: 41 }, (_, i) => -2 + i * 0.1);
  const z = new Float64Array(41 * 41);
  for (let r = 0; r < 41; r++) for (let c = 0; c < 41; c++) z[r * 41 + c] = xs[c] ** 2 + xs[r] ** 2;
  const [circle, ...rest] = viz.contourPolylines(z, xs, xs, [1]);
  assert.is(rest.length, 0);
  const segments = viz.contourSegments(z, xs, xs, [1]).filter((s) => s.x !== s.x2 || s.y !== s.y2);
  assert.is(circle.points.length, segments.length + 1);
  assert.equal(circle.points[0], circle.points[circle.points.length - 1]);
  // z = x: the level-0.5 line is the vertical x = 0.5, from border to border.
  const plane = new Float64Array(41 * 41);
  for (let r = 0; r < 41; r++) for (let c = 0; c < 41; c++) plane[r * 41 + c] = xs[c];
  const lines = viz.contourPolylines(plane, xs, xs, [0.55]);
  assert.is(lines.length, 1);
  const ys = lines[0].points.map((p) => p[1]).sort((a, b) => a - b);
  assert.equal([ys[0], ys[ys.length - 1]], [-2, 2]);
  assert.ok(lines[0].points.every((p) => Math.abs(p[0] - 0.55) < 1e-9));
});

test("contourSegments: the level-1 line of x² + y² lies on the unit circle", () => {
  const xs = Array.from({ length: 41 }, (_, i) => -2 + i * 0.1);
  const z = new Float64Array(41 * 41);
  for (let r = 0; r < 41; r++) for (let c = 0; c < 41; c++) z[r * 41 + c] = xs[c] ** 2 + xs[r] ** 2;
  const segments = viz.contourSegments(z, xs, xs, [1]);
  assert.ok(segments.length >= 40, `${segments.length} segments`);
  for (const s of segments) {
    assert.ok(Math.abs(Math.hypot(s.x, s.y) - 1) < 0.01, `(${s.x}, ${s.y})`);
    assert.ok(Math.abs(Math.hypot(s.x2, s.y2) - 1) < 0.01);
  }
});

const rosenbrock = (x: number, y: number) => (1 - x) ** 2 + 100 * (y - x * x) ** 2;
const path: [number, number][] = [[-1.5, 2], [-1, 1], [0, 0], [0.5, 0.25], [1, 1]];

test("contour: raster landscape, contour lines, optimizer path with start/end markers, log colors", async () => {
  const chart = viz.contour(rosenbrock, { paths: [{ name: "SGD", points: path }], xRange: [-2, 2], yRange: [-1, 3], resolution: 60 });
  assert.match(chart.describe(), /60×60 grid.*log color; SGD ends at \(1, 1\) z=0/);
  const svg = await chart.toSVG();
  assert.is(markItems(svg, "image").length, 1);
  const lines = markItems(svg, "line");
  assert.ok(lines.length > 12, `contour lines (one per piece) + the path, got ${lines.length}`);
  assert.ok(svg.length < 250_000, `contour SVG is ${svg.length} bytes`);
  assert.is(markItems(svg, "symbol").length, 2, "start and end markers");
  assert.match(svg, />SGD</);
});

test("contour: every optimizer path has a visible color and legend symbol; the bundle carries the raster once", async () => {
  const names = ["SGD", "momentum", "RMSprop", "Adam", "AdamW", "Adagrad", "Lion"];
  const paths = names.map((name, i) => ({ name, points: path.map(([x, y]) => [x + 0.05 * i, y] as [number, number]) }));
  const chart = viz.contour(rosenbrock, { paths, xRange: [-2, 2], yRange: [-1, 3], resolution: 60 });
  const svg = await chart.toSVG();
  const legendSymbols = [...svg.matchAll(/<g class="mark-symbol role-legend-symbol[^>]*>([\s\S]*?)<\/g>/g)].flatMap((m) => [...m[1].matchAll(/stroke="([^"]+)"/g)].map((s) => s[1].toLowerCase()));
  const pathLegend = legendSymbols.slice(-names.length);
  assert.is(pathLegend.length, names.length, `a legend symbol per path: ${legendSymbols}`);
  for (const color of pathLegend) assert.not.ok(["#fff", "#ffffff", "white"].includes(color), `legend symbol drawn ${color} on the white page`);
  const strokes = markItems(svg, "line").map((l) => l.match(/stroke="([^"]+)"/)?.[1]);
  assert.ok(strokes.includes("#1a1a1a"), "a dark halo under the paths");
  const layer = chart.spec.layer as { data: { name?: string; values?: unknown[] } }[];
  assert.is(layer.filter((l) => l.data.name === "paths").length, 2, "halo and path share one dataset (not two copies of the rows)");
  const bundle = await chart.displayBundle();
  const text = JSON.stringify(bundle.data);
  assert.is((text.match(/data:image\/png;base64|"iVBOR/g) ?? []).length, 1, "the raster once: the PNG, not also the spec's embedded image");
  assert.equal(Object.keys(bundle.data).sort(), ["image/png", "text/plain"]);
  assert.ok(text.length < 250_000, `contour bundle ${text.length} bytes`);
});

test("surface3d: plotly figure with surface + paths; plotly.js inlined in the first bundle only; static fallback", async () => {
  const chart = viz.surface3d(rosenbrock, { paths: [{ name: "SGD", points: path }, { name: "Adam", points: { x: [0, 1], y: [0, 1] } }], resolution: 30 });
  const fig = chart.figure;
  assert.equal(fig.data.map((d) => d.type), ["surface", "scatter3d", "scatter3d"]);
  const lift = (fig.data[1].z as number[])[4];
  assert.ok(lift > 0 && lift < 0.01 * 2600, `path z from the function (0 at the minimum) plus a 1% lift, got ${lift}`);
  assert.is((fig.data[0].z as number[][]).length, 30);
  viz.resetPlotlyInline();
  const first = await chart.mimeBundle();
  const second = await chart.mimeBundle();
  assert.ok((first["text/html"] as string).length > 1_000_000, "first output carries plotly.js");
  assert.ok((second["text/html"] as string).length < 1_000_000, "later outputs reference window.Plotly");
  assert.match(second["text/html"] as string, /window\.Plotly\.newPlot/);
  assert.match(second["text/html"] as string, /<img alt="surface3d[^"]*" src="data:image\/png;base64,/, "static image for viewers without scripts");
  assert.ok(first["application/vnd.plotly.v1+json"]);
  assert.match(first["image/png"] as string, /^iVBOR/);
  // A grid instead of a function: path z is interpolated.
  const grid = { x: [0, 1, 2], y: [0, 1], z: [[0, 1, 2], [10, 11, 12]] };
  const g = viz.surface3d(grid, { paths: [{ points: [[0.5, 0.5]] }] });
  assert.equal(g.figure.data[1].z, [5.5 + 0.12], "bilinear z (5.5) + 1% of the z range (12)");
});

test("save: .svg/.png/.html/.json written atomically; PNG at 2× the SVG size", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dawnet-viz-"));
  const chart = viz.lossCurve(history);
  const svgPath = await chart.save(join(dir, "loss.svg"));
  const svg = readFileSync(svgPath, "utf8");
  assert.match(svg, /^<svg/);
  const png = decode(readFileSync(await chart.save(join(dir, "loss.png"))));
  const [w, h] = svgSize(svg);
  assert.equal([png.width, png.height], [2 * w, 2 * h]);
  assert.match(readFileSync(await chart.save(join(dir, "loss.html")), "utf8"), /<!DOCTYPE html>[\s\S]*<svg/);
  assert.equal(JSON.parse(readFileSync(await chart.save(join(dir, "loss.json")), "utf8")).hconcat.length, 2);
  assert.equal(readdirSync(dir).sort(), ["loss.html", "loss.json", "loss.png", "loss.svg"], "no temp files left");
  try {
    await chart.save(join(dir, "loss.bmp"));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /unsupported extension "\.bmp"/);
  }
});

test("display protocol: bundles via Symbol.for('jupyter.mimebundle'), also on an un-awaited builder", async () => {
  const chart = viz.lossCurve(history);
  const { data } = await chart[Symbol.for("jupyter.mimebundle") as typeof viz.mimebundleSymbol]();
  assert.equal(Object.keys(data).sort(), ["application/vnd.vegalite.v5+json", "image/png", "text/plain"]);
  assert.match(data["text/plain"] as string, /^lossCurve\(5 epochs/);
  const pending = viz.heatmap([[1, 2], [3, 4]]);
  const viaPromise = await pending[viz.mimebundleSymbol]();
  assert.ok(viaPromise.data["image/png"]);
});

test("static format: a 2× PNG displayed at the SVG's size by default (nbconvert 6.5 strips SVG); SVG on request", async () => {
  assert.is(viz.getStaticFormat(), process.env.DAWNET_VIZ_STATIC === "svg" ? "svg" : "png");
  const chart = viz.lineChart({ a: [1, 2, 3] });
  const { data, metadata } = await chart.displayBundle();
  assert.not.ok(data["image/svg+xml"]);
  const [w, h] = svgSize(await chart.toSVG());
  assert.equal(metadata["image/png"], { width: w, height: h });
  const png = decode(Buffer.from(data["image/png"] as string, "base64"));
  assert.equal([png.width, png.height], [2 * w, 2 * h]);
  const surface = await viz.surface3d((x, y) => x * y, { resolution: 10 }).mimeBundle();
  assert.ok(surface["image/png"] && !surface["image/svg+xml"]);
  viz.setStaticFormat("svg");
  try {
    const svgBundle = await viz.lineChart({ a: [1, 2, 3] }).mimeBundle();
    assert.match(svgBundle["image/svg+xml"] as string, /^<svg/);
    assert.not.ok(svgBundle["image/png"]);
  } finally {
    viz.setStaticFormat("png");
  }
  assert.throws(() => viz.setStaticFormat("gif" as viz.StaticFormat), /expected "svg" or "png"/);
});

test("lazy loading: dawnet's viz module can be require()d (no top-level await reaches it) and loads no vega", () => {
  const entry = join(here, "../lib/viz/index.js");
  const script = `require(${JSON.stringify(entry)}); const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](vega|vega-lite|plotly)/.test(f)); console.log("loaded:" + loaded.length);`;
  const r = spawnSync(process.execPath, ["--experimental-require-module", "-e", script], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /loaded:0/);
});

test.run();

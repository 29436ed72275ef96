/**
 * A picture of a model's layers (like Keras' plot_model): one box per layer, top to bottom, with its
 * name, type, output shape and parameter count, joined by arrows. Structural types only: no lib/nn import.
 */
import { VegaLiteChart } from "./chart.js";
import type { VegaLiteSpec } from "./render.js";

export interface DiagramLayer {
  readonly name: string;
  readonly className: string;
  readonly outputShape?: readonly (number | null)[] | null;
  readonly batchInputShape?: readonly (number | null)[] | null;
  countParams(): number;
}
export interface DiagramModel {
  readonly name?: string;
  readonly layers: DiagramLayer[];
}

const shapeText = (s: readonly (number | null)[] | null | undefined) => (s ? `(${s.map((d) => (d === null ? "None" : d)).join(", ")})` : "?");

/** The layer diagram of a (built) model; unbuilt layers show "?" as their shape. */
export function plotModel(model: DiagramModel, options: { title?: string; width?: number } = {}): VegaLiteChart {
  const layers = model.layers;
  if (!layers.length) throw new Error(`plotModel: the model${model.name ? ` '${model.name}'` : ""} has no layers`);
  const rows = [
    ...(layers[0].batchInputShape ? [{ i: 0, title: "input", detail: shapeText(layers[0].batchInputShape), params: "" }] : []),
    ...layers.map((l) => ({ i: 0, title: `${l.name} (${l.className})`, detail: shapeText(l.outputShape), params: `${l.countParams().toLocaleString("en-US")} params` })),
  ].map((r, i) => ({ ...r, i }));
  const boxH = 44, gap = 22, width = options.width ?? 320;
  const data = rows.map((r) => ({ ...r, line2: r.params ? `${r.detail}  ·  ${r.params}` : r.detail, y0: r.i * (boxH + gap), y1: r.i * (boxH + gap) + boxH, yt: r.i * (boxH + gap) + 16, yd: r.i * (boxH + gap) + 33 }));
  const arrows = data.slice(1).map((r, k) => ({ y0: data[k].y1, y1: r.y0 }));
  const height = rows.length * (boxH + gap) - gap;
  const y = { type: "quantitative", scale: { domain: [height, 0] }, axis: null } as const;
  const x = { type: "quantitative", scale: { domain: [0, 1] }, axis: null } as const;
  const spec: VegaLiteSpec = {
    title: options.title ?? (model.name ? `model "${model.name}"` : undefined),
    width, height, config: { view: { stroke: null } },
    layer: [
      { data: { values: arrows }, mark: { type: "rule", color: "#777", strokeWidth: 1.5 }, encoding: { x: { datum: 0.5, ...x }, y: { field: "y0", ...y }, y2: { field: "y1" } } },
      { data: { values: arrows }, mark: { type: "point", shape: "triangle-down", filled: true, color: "#777", size: 50 }, encoding: { x: { datum: 0.5, ...x }, y: { field: "y1", ...y } } },
      {
        data: { values: data },
        layer: [
          { mark: { type: "rect", fill: "#eef3fb", stroke: "#4c78a8", cornerRadius: 4 }, encoding: { x: { datum: 0.02, ...x }, x2: { datum: 0.98 }, y: { field: "y0", ...y }, y2: { field: "y1" } } },
          { mark: { type: "text", fontWeight: "bold", fontSize: 12 }, encoding: { x: { datum: 0.5, ...x }, y: { field: "yt", ...y }, text: { field: "title" } } },
          { mark: { type: "text", fontSize: 11, color: "#444" }, encoding: { x: { datum: 0.5, ...x }, y: { field: "yd", ...y }, text: { field: "line2" } } },
        ],
      },
    ],
  } as VegaLiteSpec;
  const total = layers.reduce((s, l) => s + l.countParams(), 0);
  return new VegaLiteChart(spec, `plotModel(${layers.length} layers, ${total.toLocaleString("en-US")} params)`);
}

// Activation functions and their derivatives, computed in plain JS (the same formulas as dawnet's ops).
import { VegaLiteChart } from "./chart.js";

/** Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7), for exact GELU. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** name → [f, f'] */
export const ACTIVATIONS: Record<string, [(x: number) => number, (x: number) => number]> = {
  linear: [(x) => x, () => 1],
  relu: [(x) => Math.max(0, x), (x) => (x > 0 ? 1 : 0)],
  leakyRelu: [(x) => (x > 0 ? x : 0.2 * x), (x) => (x > 0 ? 1 : 0.2)],
  elu: [(x) => (x > 0 ? x : Math.expm1(x)), (x) => (x > 0 ? 1 : Math.exp(x))],
  selu: [(x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)), (x) => SELU_SCALE * (x > 0 ? 1 : SELU_ALPHA * Math.exp(x))],
  sigmoid: [sigmoid, (x) => sigmoid(x) * (1 - sigmoid(x))],
  tanh: [Math.tanh, (x) => 1 - Math.tanh(x) ** 2],
  softplus: [(x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), sigmoid],
  softsign: [(x) => x / (1 + Math.abs(x)), (x) => 1 / (1 + Math.abs(x)) ** 2],
  gelu: [
    (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  ],
  silu: [(x) => x * sigmoid(x), (x) => sigmoid(x) * (1 + x * (1 - sigmoid(x)))],
  mish: [
    (x) => x * Math.tanh(Math.log1p(Math.exp(x))),
    (x) => {
      const sp = Math.log1p(Math.exp(x));
      const t = Math.tanh(sp);
      return t + x * (1 - t * t) * sigmoid(x);
    },
  ],
  hardSigmoid: [(x) => Math.min(1, Math.max(0, 0.2 * x + 0.5)), (x) => (Math.abs(x) < 2.5 ? 0.2 : 0)],
};
// Common spellings.
const ALIASES: Record<string, string> = { leaky_relu: "leakyRelu", leakyrelu: "leakyRelu", swish: "silu", hard_sigmoid: "hardSigmoid", identity: "linear" };

export interface ActivationPlotOptions {
  /** Also draw f'(x) (a second panel). */
  derivatives?: boolean;
  /** x range (default [-5, 5]). */
  range?: [number, number];
  /** Samples over the range (default 201). */
  points?: number;
  title?: string;
}

/** Plots activation functions by name: `activationPlot(["relu", "sigmoid", "tanh"], {derivatives: true})`. */
export function activationPlot(names: readonly string[] = ["relu", "sigmoid", "tanh"], options: ActivationPlotOptions = {}): VegaLiteChart {
  const [lo, hi] = options.range ?? [-5, 5];
  const n = options.points ?? 201;
  const rows: { x: number; y: number; fn: string; panel: string }[] = [];
  for (const raw of names) {
    const name = ALIASES[raw] ?? ALIASES[raw.toLowerCase()] ?? raw;
    const pair = ACTIVATIONS[name];
    if (!pair) throw new RangeError(`activationPlot: unknown activation "${raw}"; known: ${Object.keys(ACTIVATIONS).join(", ")}`);
    for (let i = 0; i < n; i++) {
      const x = lo + ((hi - lo) * i) / (n - 1);
      rows.push({ x, y: pair[0](x), fn: raw, panel: "f(x)" });
      if (options.derivatives) rows.push({ x, y: pair[1](x), fn: raw, panel: "f'(x)" });
    }
  }
  const panel = (which: string) => ({
    title: which,
    width: 280,
    height: 200,
    data: { values: rows.filter((r) => r.panel === which) },
    layer: [
      { mark: { type: "rule", color: "#999", strokeDash: [2, 2] }, encoding: { y: { datum: 0 } } },
      { mark: { type: "rule", color: "#999", strokeDash: [2, 2] }, encoding: { x: { datum: 0 } } },
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x: { field: "x", type: "quantitative", title: "x" },
          y: { field: "y", type: "quantitative", title: which },
          color: { field: "fn", type: "nominal", title: "activation", sort: [...names] },
        },
      },
    ],
  });
  const spec = options.derivatives ? { title: options.title, hconcat: [panel("f(x)"), panel("f'(x)")] } : { ...panel("f(x)"), title: options.title ?? "f(x)" };
  return new VegaLiteChart(spec, `activationPlot(${names.join(", ")}${options.derivatives ? " with derivatives" : ""}, x in [${lo}, ${hi}])`);
}

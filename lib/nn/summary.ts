/** model.summary(): Keras' table of layers, output shapes and parameter counts (text and HTML). */
import { formatShape, type Layer } from "./layer.js";

export interface SummaryRow {
  name: string;
  className: string;
  outputShape: string;
  params: number;
}

export interface SummaryData {
  modelName: string;
  rows: SummaryRow[];
  total: number;
  trainable: number;
  nonTrainable: number;
}

export function summaryData(modelName: string, layers: readonly Layer[]): SummaryData {
  const rows = layers.filter((l) => l.className !== "InputLayer").map((l) => ({
    name: l.name, className: l.className, outputShape: l.outputShape ? formatShape(l.outputShape) : "?", params: l.countParams(),
  }));
  let trainable = 0, nonTrainable = 0;
  for (const l of layers) {
    trainable += l.trainableWeights.reduce((n, w) => n + w.size, 0);
    nonTrainable += l.nonTrainableWeights.reduce((n, w) => n + w.size, 0);
  }
  return { modelName, rows, total: trainable + nonTrainable, trainable, nonTrainable };
}

const commas = (n: number) => n.toLocaleString("en-US");
function bytes(n: number): string {
  const b = n * 4;
  return b >= 1024 * 1024 ? `${(b / 1024 / 1024).toFixed(2)} MB` : b >= 1024 ? `${(b / 1024).toFixed(2)} KB` : `${b} Byte`;
}

export function summaryText(d: SummaryData, lineLength = 65): string {
  const cols = [Math.floor(lineLength * 0.45), Math.floor(lineLength * 0.85)];
  const cell = (a: string, b: string, c: string) => {
    let s = ` ${a}`;
    s = (s.length < cols[0] ? s.padEnd(cols[0]) : s + " ") + b;
    s = (s.length < cols[1] ? s.padEnd(cols[1]) : s + " ") + c;
    return s.padEnd(lineLength);
  };
  const out = [`Model: "${d.modelName}"`, "_".repeat(lineLength), cell("Layer (type)", "Output Shape", "Param #"), "=".repeat(lineLength)];
  d.rows.forEach((r, i) => {
    out.push(cell(`${r.name} (${r.className})`, r.outputShape, String(r.params)));
    if (i < d.rows.length - 1) out.push(" ".repeat(lineLength));
  });
  out.push("=".repeat(lineLength));
  out.push(`Total params: ${commas(d.total)} (${bytes(d.total)})`);
  out.push(`Trainable params: ${commas(d.trainable)} (${bytes(d.trainable)})`);
  out.push(`Non-trainable params: ${commas(d.nonTrainable)} (${bytes(d.nonTrainable)})`);
  out.push("_".repeat(lineLength));
  return out.join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function summaryHTML(d: SummaryData): string {
  const th = 'style="text-align:left;padding:2px 12px 2px 0;border-bottom:1px solid #888"';
  const td = 'style="text-align:left;padding:2px 12px 2px 0;font-family:monospace"';
  const rows = d.rows.map((r) => `<tr><td ${td}>${esc(r.name)} (${esc(r.className)})</td><td ${td}>${esc(r.outputShape)}</td><td ${td} align="right">${commas(r.params)}</td></tr>`).join("");
  return `<div><b>Model: "${esc(d.modelName)}"</b><table style="border-collapse:collapse">` +
    `<thead><tr><th ${th}>Layer (type)</th><th ${th}>Output Shape</th><th ${th}>Param #</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<div style="font-family:monospace">Total params: ${commas(d.total)} (${bytes(d.total)})<br>Trainable params: ${commas(d.trainable)}<br>Non-trainable params: ${commas(d.nonTrainable)}</div></div>`;
}

/** Rich notebook display of tensors: an HTML table (elided past a size) plus the text form. */
import type { Tensor } from "./tensor.js";
import { fmt } from "./shape.js";

const MAX_ROWS = 12, MAX_COLS = 12;

function cell(v: number, dtype: string): string {
  if (dtype === "bool") return v ? "true" : "false";
  if (dtype === "int32" || Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

function pick(n: number, max: number): (number | null)[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const h = Math.floor(max / 2);
  return [...Array.from({ length: h }, (_, i) => i), null, ...Array.from({ length: h }, (_, i) => n - h + i)];
}

/** MIME bundle for a tensor: text/plain like NumPy, text/html with a table of the last two axes. */
export async function tensorBundle(t: Tensor): Promise<Record<string, string>> {
  const text = await t.toStringAsync();
  if (t.isDisposed) return { "text/plain": text };
  const data = await t.data();
  const shape = t.shape;
  const head = `<div style="font-family:monospace;font-size:12px;color:#555">Tensor shape=${fmt(shape)} dtype=${t.dtype} backend=${t.backend}</div>`;
  const rows = shape.length >= 2 ? shape[shape.length - 2] : 1;
  const cols = shape.length >= 1 ? shape[shape.length - 1] : 1;
  const lead = shape.length > 2 ? shape.slice(0, -2).reduce((a, b) => a * b, 1) : 1;
  let html = head;
  const blocks = pick(lead, 4);
  for (const bi of blocks) {
    if (bi === null) { html += `<div style="font-family:monospace">…</div>`; continue; }
    if (lead > 1) html += `<div style="font-family:monospace;font-size:11px;color:#777">[${bi}]</div>`;
    html += `<table style="font-family:monospace;font-size:12px;border-collapse:collapse">`;
    for (const r of pick(rows, MAX_ROWS)) {
      html += "<tr>";
      for (const c of pick(cols, MAX_COLS)) {
        const v = r === null || c === null ? "⋯" : cell(data[bi * rows * cols + r * cols + c], t.dtype);
        html += `<td style="padding:1px 6px;text-align:right">${v}</td>`;
      }
      html += "</tr>";
    }
    html += "</table>";
  }
  return { "text/plain": text, "text/html": html };
}

// Interactive 3-D charts with plotly.js: a plotly MIME bundle, HTML that runs offline (plotly.js
// inlined once per session, later outputs use the global), and a static vega-lite fallback.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { Chart, staticImage, type DisplayBundle, type VegaLiteChart } from "./chart.js";
import { canRasterize } from "./render.js";

/** A plotly figure as plain JSON. */
export interface PlotlyFigure {
  data: { [key: string]: unknown }[];
  layout: { [key: string]: unknown };
  config?: { [key: string]: unknown };
}

let plotlySource: Promise<string> | null = null;
/** True once some output of this process carried plotly.js; later outputs reference window.Plotly. */
let plotlyInlined = false;

function loadPlotlySource(): Promise<string> {
  plotlySource ??= (async () => {
    const require = createRequire(import.meta.url);
    const file = require.resolve("plotly.js-dist-min/plotly.min.js");
    return readFile(file, "utf8");
  })();
  return plotlySource;
}

/** Forgets that plotly.js was sent (e.g. after the notebook page was reloaded without outputs). */
export function resetPlotlyInline(): void {
  plotlyInlined = false;
}

function scriptSafe(js: string): string {
  // A literal "</script" inside inline JS would end the element early.
  return js.replace(/<\/(script)/gi, "<\\/$1");
}

export class PlotlyChart extends Chart {
  readonly figure: PlotlyFigure;
  /** Static rendering used for SVG/PNG and by viewers that run no JavaScript. */
  readonly fallback: VegaLiteChart;
  private readonly description: string;

  constructor(figure: PlotlyFigure, fallback: VegaLiteChart, description: string) {
    super();
    this.figure = figure;
    this.fallback = fallback;
    this.description = description;
  }

  describe(): string {
    return this.description;
  }

  toSVG(): Promise<string> {
    return this.fallback.toSVG();
  }

  toJSON(): PlotlyFigure {
    return this.figure;
  }

  /** The static rendering as an <img> data URL (PNG when a rasterizer is available, else SVG). */
  private async staticDataUrl(): Promise<string> {
    if (await canRasterize()) return "data:image/png;base64," + Buffer.from(await this.fallback.toPNG({ scale: 1 })).toString("base64");
    return "data:image/svg+xml;base64," + Buffer.from(await this.fallback.toSVG()).toString("base64");
  }

  /**
   * A div plus the script that draws into it; with `inlinePlotly` the script tag carrying plotly.js comes first.
   * The static image shows until plotly draws, so viewers that run no scripts (GitHub, nbviewer) or a page
   * whose plotly.js output was cleared still show the landscape.
   */
  async plotDiv(inlinePlotly: boolean): Promise<string> {
    const id = `dawnet-plotly-${randomUUID()}`;
    const figure = scriptSafe(JSON.stringify(this.figure));
    const library = inlinePlotly ? `<script type="text/javascript">${scriptSafe(await loadPlotlySource())}</script>\n` : "";
    const height = Number(this.figure.layout.height ?? 500);
    return (
      library +
      `<div id="${id}-static"><img alt="${this.describe().replace(/"/g, "&quot;")}" src="${await this.staticDataUrl()}"></div>\n` +
      `<div id="${id}" style="width:100%;height:${height}px;display:none"></div>\n` +
      `<script type="text/javascript">(function(){\n` +
      `  var fig = ${figure};\n` +
      `  var el = document.getElementById(${JSON.stringify(id)});\n` +
      `  var still = document.getElementById(${JSON.stringify(id + "-static")});\n` +
      `  if (window.Plotly) { still.style.display = "none"; el.style.display = "block"; window.Plotly.newPlot(el, fig.data, fig.layout, fig.config || {responsive: true}); }\n` +
      `  else { var note = document.createElement("div"); note.className = "dawnet-plotly-note"; note.style.cssText = "font-size:12px;color:#666"; note.textContent = "Static view: plotly.js is not loaded in this page (run dawnet.viz.resetPlotlyInline() and re-run this cell for the interactive 3-D chart)."; still.appendChild(note); }\n` +
      `})();</script>`
    );
  }

  async toHTMLFragment(): Promise<string> {
    return this.plotDiv(true);
  }

  /** The plotly figure as JSON. */
  get spec(): PlotlyFigure {
    return this.figure;
  }

  async displayBundle(): Promise<DisplayBundle> {
    const first = !plotlyInlined;
    const html = await this.plotDiv(first);
    plotlyInlined = true;
    const metadata: DisplayBundle["metadata"] = {};
    const data = {
      "application/vnd.plotly.v1+json": this.figure,
      "text/html": html,
      ...(await staticImage(await this.fallback.toSVG(), this.fallback.raster, metadata)),
      "text/plain": this.describe(),
    };
    return { data, metadata };
  }
}

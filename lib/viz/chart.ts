// One chart object that shows itself everywhere: a Jupyter MIME bundle in notebooks,
// SVG/PNG/HTML files and strings outside them.
import { writeFile, rename, unlink } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { VEGA_LITE_SCHEMA, compileVegaLite, svgToPng, vegaLiteToSvg, canRasterize, type VegaLiteSpec } from "./render.js";

export type { VegaLiteSpec } from "./render.js";

/** The display protocol the dawnet kernel (and any other host) looks for on values. */
export const mimebundleSymbol: unique symbol = Symbol.for("jupyter.mimebundle");

/** MIME type → payload (strings, or JSON objects for *+json types). */
export type MimeBundle = { [mime: string]: unknown };

/** A bundle with per-MIME metadata (e.g. the display width of a 2× PNG), as Jupyter's display_data carries. */
export interface DisplayBundle {
  data: MimeBundle;
  metadata: { [mime: string]: unknown };
}

/** How charts appear where no vega-lite/plotly renderer runs (classic Notebook, nbconvert, VS Code, GitHub). */
export type StaticFormat = "svg" | "png";

// PNG by default: nbconvert before 7.7 (Debian 12 ships 6.5) passes image/svg+xml through lxml's
// clean_html, which drops every SVG child element (unknown tags) whatever its sanitize setting, while
// image/png is embedded as is. JupyterLab still draws the vega-lite MIME (its renderer ranks 57, PNG 90).
let staticFormat: StaticFormat = process.env.DAWNET_VIZ_STATIC === "svg" ? "svg" : "png";

/**
 * Chooses the static image in chart bundles: "png" (default: rendered at 2×, displayed at 1× through
 * metadata width/height) or "svg" (vector, often smaller; shown by classic Notebook, VS Code, GitHub and
 * nbconvert ≥ 7.7, but exported as bare text by nbconvert 6.5, whose HTML template cleans SVG with lxml:
 * jupyter/nbconvert#1849). Also set by DAWNET_VIZ_STATIC=svg|png.
 */
export function setStaticFormat(format: StaticFormat): void {
  if (format !== "svg" && format !== "png") throw new RangeError(`setStaticFormat: expected "svg" or "png", got ${JSON.stringify(format)}`);
  staticFormat = format;
}

export function getStaticFormat(): StaticFormat {
  return staticFormat;
}

export interface SaveOptions {
  /** PNG only: pixels per SVG pixel (default 2, for crisp text on high-DPI screens). */
  scale?: number;
}

/** Writes `data` to `path` atomically: a temporary file in the same folder, then rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);
}

export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;margin:16px} figure{margin:0 0 24px 0}</style></head>
<body>\n${body}\n</body></html>\n`;
}

/** Base of every chart: file output, string forms and the Jupyter display protocol. */
export abstract class Chart {
  /** Short human description, also the text/plain form. */
  abstract describe(): string;
  /** Static vector rendering. */
  abstract toSVG(): Promise<string>;
  /** The MIME bundle a notebook shows (may include interactive forms), with its metadata. */
  abstract displayBundle(): Promise<DisplayBundle>;

  /** The MIME bundle's data alone. */
  async mimeBundle(): Promise<MimeBundle> {
    return (await this.displayBundle()).data;
  }
  /** An HTML fragment (no <html> wrapper) that shows the chart offline. */
  abstract toHTMLFragment(): Promise<string>;

  /** PNG bytes of the static rendering (`scale` × SVG size). */
  async toPNG(options: SaveOptions = {}): Promise<Uint8Array> {
    return svgToPng(await this.toSVG(), options.scale ?? 2);
  }

  /** A standalone HTML page. */
  async toHTML(): Promise<string> {
    return htmlPage(this.describe(), await this.toHTMLFragment());
  }

  /** Saves by extension: .svg, .png, .html (written atomically). */
  async save(path: string, options: SaveOptions = {}): Promise<string> {
    const ext = extname(path).toLowerCase();
    let data: string | Uint8Array;
    if (ext === ".svg") data = await this.toSVG();
    else if (ext === ".png") data = await this.toPNG(options);
    else if (ext === ".html" || ext === ".htm") data = await this.toHTML();
    else if (ext === ".json") data = JSON.stringify(this.toJSON(), null, 1);
    else throw new RangeError(`Chart.save: unsupported extension "${ext}" in ${path}; use .svg, .png, .html or .json`);
    const full = resolve(path);
    await writeFileAtomic(full, data);
    return full;
  }

  /** JSON form of the chart (its spec / figure). */
  abstract toJSON(): unknown;

  [mimebundleSymbol](): Promise<DisplayBundle> {
    return this.displayBundle();
  }

  toString(): string {
    return this.describe();
  }
}

export interface VegaLiteChartOptions {
  /** The chart is mostly an embedded raster (image marks): a notebook gets PNG rather than SVG. */
  raster?: boolean;
}

/** A chart defined by a vega-lite spec; SVG rendered in Node by vega. */
export class VegaLiteChart extends Chart {
  readonly spec: VegaLiteSpec;
  readonly raster: boolean;
  private readonly description: string;
  private svgCache: Promise<string> | null = null;

  constructor(spec: VegaLiteSpec, description: string, options: VegaLiteChartOptions = {}) {
    super();
    this.spec = { $schema: VEGA_LITE_SCHEMA, ...spec };
    this.description = description;
    this.raster = options.raster ?? false;
  }

  describe(): string {
    return this.description;
  }

  /** Compiled vega spec (throws if the vega-lite spec is invalid). */
  compile(): Promise<object> {
    return compileVegaLite(this.spec);
  }

  toSVG(): Promise<string> {
    // A chart is immutable once built, so one render serves every format.
    this.svgCache ??= vegaLiteToSvg(this.spec);
    return this.svgCache;
  }

  toJSON(): VegaLiteSpec {
    return this.spec;
  }

  async toHTMLFragment(): Promise<string> {
    return `<figure>${await this.toSVG()}</figure>`;
  }

  async displayBundle(): Promise<DisplayBundle> {
    const metadata: DisplayBundle["metadata"] = {};
    const image = await staticImage(await this.toSVG(), this.raster, metadata);
    // A raster chart's spec embeds its pixels, so with the PNG they would be in the notebook twice
    // (~200 KB each for a contour plot): it goes out as the PNG alone (JupyterLab shows that the same);
    // the spec stays available as chart.spec and save("x.json" | "x.html").
    const spec = this.raster && image["image/png"] ? {} : { "application/vnd.vegalite.v5+json": this.spec };
    return { data: { ...spec, ...image, "text/plain": this.describe() }, metadata };
  }
}

/**
 * The static image of a chart for a bundle: PNG (2× pixels, displayed at 1× through metadata width/height;
 * rasters at 1×, their pixels are PNG already), or SVG in "svg" mode; SVG too where no rasterizer loads.
 */
export async function staticImage(svg: string, raster: boolean, metadata: DisplayBundle["metadata"], format: StaticFormat = staticFormat): Promise<MimeBundle> {
  if ((raster || format === "png") && (await canRasterize())) {
    const scale = raster ? 1 : 2;
    const png = await svgToPng(svg, scale);
    const size = svg.match(/<svg[^>]*width="([\d.]+)" height="([\d.]+)"/);
    if (scale !== 1 && size) metadata["image/png"] = { width: Number(size[1]), height: Number(size[2]) };
    return { "image/png": Buffer.from(png).toString("base64") };
  }
  return { "image/svg+xml": svg };
}

/** A Promise of a chart that can itself be displayed (so a cell ending in `heatmap(t)` without await still shows). */
export type ChartPromise<C extends Chart = Chart> = Promise<C> & { [mimebundleSymbol](): Promise<DisplayBundle> };

export function chartPromise<C extends Chart>(build: () => Promise<C>): ChartPromise<C> {
  const promise = build() as ChartPromise<C>;
  promise[mimebundleSymbol] = async () => (await promise).displayBundle();
  return promise;
}

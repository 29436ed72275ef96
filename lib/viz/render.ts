// Lazy renderers: vega/vega-lite (ESM with top-level await) and resvg load on first use through
// a native import(), so programs that never plot never load them and CommonJS cells can require dawnet.

/** A vega-lite spec as plain JSON (the types stay loose so the public .d.ts needs no vega-lite types). */
export type VegaLiteSpec = { [key: string]: unknown };

export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

interface VegaModules {
  vega: typeof import("vega");
  vegaLite: typeof import("vega-lite");
}

let vegaModules: Promise<VegaModules> | null = null;

function loadVega(): Promise<VegaModules> {
  vegaModules ??= Promise.all([import("vega"), import("vega-lite")]).then(([vega, vegaLite]) => ({ vega, vegaLite }));
  return vegaModules;
}

/** Loads vega and vega-lite now (a live chart does so before timing its first redraw). */
export async function preloadVega(): Promise<void> {
  await loadVega();
}

/** Compiles a vega-lite spec to vega (throws vega-lite's own error for an invalid spec). */
export async function compileVegaLite(spec: VegaLiteSpec): Promise<object> {
  const { vegaLite } = await loadVega();
  // The cast: our spec type is deliberately loose JSON.
  return vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
}

/** Renders a vega-lite spec to SVG text in Node (no DOM, no canvas). */
export async function vegaLiteToSvg(spec: VegaLiteSpec): Promise<string> {
  const { vega } = await loadVega();
  const compiled = await compileVegaLite(spec);
  const view = new vega.View(vega.parse(compiled as Parameters<typeof vega.parse>[0]), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type ResvgModule = typeof import("@resvg/resvg-js");
let resvgModule: Promise<ResvgModule> | null = null;

function loadResvg(): Promise<ResvgModule> {
  resvgModule ??= import("@resvg/resvg-js").then((m) => ((m as unknown as { default?: ResvgModule }).default ?? m) as ResvgModule);
  return resvgModule;
}

/** Whether an SVG rasterizer is usable here (@resvg/resvg-js ships a prebuilt binary per platform). */
export async function canRasterize(): Promise<boolean> {
  try {
    await loadResvg();
    return true;
  } catch {
    return false;
  }
}

/** Rasterizes SVG text to PNG bytes at `scale` × the SVG's own size. */
export async function svgToPng(svg: string, scale = 1): Promise<Uint8Array> {
  let resvg: ResvgModule;
  try {
    resvg = await loadResvg();
  } catch (err) {
    throw new Error(
      `svgToPng: @resvg/resvg-js could not be loaded (${(err as Error).message}); ` +
        `install it (npm install @resvg/resvg-js, it has a prebuilt binary for this platform) or save as .svg instead`,
    );
  }
  // vega writes "image-rendering: optimizeSpeed; image-rendering: pixelated" for unsmoothed images; resvg
  // does not know "pixelated", so the second declaration would turn smoothing back on.
  const renderer = new resvg.Resvg(svg.replace(/\s*image-rendering:\s*pixelated;?/g, ""), {
    fitTo: scale === 1 ? { mode: "original" } : { mode: "zoom", value: scale },
    // vega writes font-family="sans-serif"; map it to a font Debian/most Linux have, falling back to any system font.
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    background: "white",
  });
  return renderer.render().asPng();
}

type DatasetView = { data(name: string, values: unknown[]): unknown; runAsync(): Promise<unknown>; toSVG(): Promise<string>; finalize(): void };

/**
 * Renders a sequence of specs that differ only in their top-level `datasets` (a live chart's redraws):
 * the vega view is compiled once per spec structure and later redraws only swap the data in. Views are
 * shared by every renderer in the process (the last few structures), so the next fit()'s chart does not
 * compile again; renders are serialized because they share views.
 */
export class DatasetViewRenderer {
  private static readonly views = new Map<string, DatasetView>();
  private static queue: Promise<unknown> = Promise.resolve();
  /** Views compiled so far in this process (each ~50-150 ms; the tests check that redraws do not compile). */
  static compiles = 0;

  /** Renders one spec. */
  render(spec: VegaLiteSpec): Promise<string> {
    const result = DatasetViewRenderer.queue.then(() => renderWithCachedView(spec));
    DatasetViewRenderer.queue = result.catch(() => undefined);
    return result;
  }

  /** @internal */
  static view(signature: string): DatasetView | undefined {
    const view = this.views.get(signature);
    if (view) {
      this.views.delete(signature); // most recently used last
      this.views.set(signature, view);
    }
    return view;
  }

  /** @internal */
  static store(signature: string, view: DatasetView): void {
    this.views.set(signature, view);
    this.compiles++;
    while (this.views.size > 4) {
      const [oldest, old] = this.views.entries().next().value as [string, DatasetView];
      this.views.delete(oldest);
      old.finalize();
    }
  }
}

async function renderWithCachedView(spec: VegaLiteSpec): Promise<string> {
  const datasets = (spec.datasets ?? {}) as Record<string, unknown[]>;
  const signature = JSON.stringify({ ...spec, datasets: Object.keys(datasets) });
  let view = DatasetViewRenderer.view(signature);
  if (!view) {
    const { vega } = await loadVega();
    const compiled = await compileVegaLite(spec);
    view = new vega.View(vega.parse(compiled as Parameters<typeof vega.parse>[0]), { renderer: "none" }) as unknown as DatasetView;
    DatasetViewRenderer.store(signature, view);
  } else {
    for (const [name, values] of Object.entries(datasets)) view.data(name, values);
  }
  await view.runAsync();
  return view.toSVG();
}

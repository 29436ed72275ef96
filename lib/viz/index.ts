// dawnet/viz: charts that show themselves in notebooks (vega-lite + SVG/PNG, plotly for 3-D) and save to files.
// Builders that read tensors return a displayable Promise (await it for the chart); the others return charts.
export { Chart, VegaLiteChart, mimebundleSymbol, writeFileAtomic, setStaticFormat, getStaticFormat, type ChartPromise, type MimeBundle, type DisplayBundle, type StaticFormat, type SaveOptions, type VegaLiteSpec } from "./chart.js";
export { lineChart, lossCurve, liveLossCurve, LiveChart, emaDebiased, type HistoryLike, type HistoryInput, type LineChartOptions, type LossCurveOptions, type LiveChartOptions } from "./loss.js";
export { heatmap, confusionMatrix, confusionCounts, ConfusionMatrixChart, type HeatmapOptions, type ConfusionMatrixOptions } from "./heatmap.js";
export type { ReadableTensor, ArrayInput, NumericArray, NestedNumbers } from "./data.js";
export { imageGrid, convFilters, featureMaps, gradCamOverlay, resizeBilinear, tileGridSpec, type ImageGridOptions, type ImagesInput, type FilterOptions, type GradCamOptions, type Tile } from "./images.js";
export { histogram, valueStats, binCounts, type HistogramOptions, type HistogramInput, type ValueStats } from "./histogram.js";
export { activationPlot, ACTIVATIONS, type ActivationPlotOptions } from "./activation.js";
export { scatter, decisionBoundary, type ScatterOptions, type PointsInput, type Classifier2D, type DecisionBoundaryOptions } from "./decision.js";
export { contourSegments, contourPolylines, type Segment, type Polyline } from "./contour-lines.js";
export { surface3d, contour, type SurfaceInput, type SurfaceOptions, type SurfacePath, type Grid } from "./surface.js";
export { PlotlyChart, resetPlotlyInline, type PlotlyFigure } from "./plotly.js";
export { gradCam, gradCamMaps, saliencyMaps, type CamModel, type CamLayer, type GradCamMapOptions } from "./gradcam.js";
export { plotModel, type DiagramModel, type DiagramLayer } from "./diagram.js";

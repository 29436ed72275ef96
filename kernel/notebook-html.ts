// A standalone HTML page for an executed notebook (`dawnet run --html`): markdown cells through a
// small Markdown subset, code cells with their richest static output (HTML, SVG, PNG, text).
import type { Notebook, NotebookCell, NotebookOutput } from "./notebook-runner.js";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

function source(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Inline Markdown: code spans, images, links, bold, italics (on escaped text). */
function inline(text: string): string {
  const codeSpans: string[] = [];
  let html = escapeHtml(text).replace(/`([^`]+)`/g, (_m, code: string) => `\u0000${codeSpans.push(code) - 1}\u0000`);
  html = html
    .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, '<img alt="$1" src="$2">')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>')
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/(^|\W)_([^_\s][^_]*)_(?=\W|$)/g, "$1<em>$2</em>");
  return html.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => `<code>${codeSpans[Number(i)]}</code>`);
}

/** Block Markdown: headings, fenced code, lists, block quotes, paragraphs, $$ math kept as text. */
export function markdownToHtml(markdown: string): string {
  const out: string[] = [];
  const lines = markdown.split("\n");
  let paragraph: string[] = [];
  let list: { tag: "ul" | "ol"; items: string[] } | null = null;
  const flush = () => {
    if (paragraph.length) out.push(`<p>${inline(paragraph.join(" "))}</p>`);
    paragraph = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join("")}</${list.tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^```(\w*)/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      out.push(`<h${heading[1].length}>${inline(heading[2])}</h${heading[1].length}>`);
    } else if (bullet || numbered) {
      const tag = bullet ? "ul" : "ol";
      if (paragraph.length || (list && list.tag !== tag)) flush();
      list ??= { tag, items: [] };
      list.items.push((bullet ?? numbered)![1]);
    } else if (/^>\s?/.test(line)) {
      flush();
      out.push(`<blockquote>${inline(line.replace(/^>\s?/, ""))}</blockquote>`);
    } else if (line.trim() === "") {
      flush();
    } else if (list && /^\s+\S/.test(line)) {
      list.items[list.items.length - 1] += " " + line.trim();
    } else {
      if (list) flush();
      paragraph.push(line.trim());
    }
  }
  flush();
  return out.join("\n");
}

function text(value: unknown): string {
  return Array.isArray(value) ? value.join("") : typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function outputToHtml(output: NotebookOutput): string {
  switch (output.output_type) {
    case "stream":
      return `<pre class="${output.name}">${escapeHtml(stripAnsi(output.text))}</pre>`;
    case "error":
      return `<pre class="error">${escapeHtml(stripAnsi(output.traceback.join("\n")))}</pre>`;
    default: {
      const data = output.data;
      if (data["text/html"] !== undefined) return `<div class="html">${text(data["text/html"])}</div>`;
      if (data["image/svg+xml"] !== undefined) return `<div class="svg">${text(data["image/svg+xml"])}</div>`;
      for (const mime of ["image/png", "image/jpeg", "image/gif"]) {
        if (data[mime] !== undefined) return `<img src="data:${mime};base64,${text(data[mime]).replace(/\s/g, "")}">`;
      }
      if (data["text/markdown"] !== undefined) return `<div class="markdown">${markdownToHtml(text(data["text/markdown"]))}</div>`;
      return `<pre>${escapeHtml(text(data["text/plain"] ?? ""))}</pre>`;
    }
  }
}

export function notebookToHtml(notebook: Notebook, title: string): string {
  const body = notebook.cells
    .map((cell) => {
      if (cell.cell_type === "markdown") return `<section class="md">${markdownToHtml(source(cell))}</section>`;
      if (cell.cell_type !== "code") return `<pre class="raw">${escapeHtml(source(cell))}</pre>`;
      const count = cell.execution_count ?? " ";
      const outputs = (cell.outputs ?? []).map(outputToHtml).join("\n");
      return `<section class="code"><div class="in"><span class="prompt">[${count}]:</span><pre><code>${escapeHtml(source(cell))}</code></pre></div>${
        outputs ? `<div class="out">${outputs}</div>` : ""
      }</section>`;
    })
    .join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
pre { margin: 0; padding: .4rem .6rem; overflow-x: auto; font: 13px/1.4 ui-monospace, monospace; white-space: pre-wrap; }
.in { display: flex; gap: .5rem; } .in pre { background: #f5f5f7; border: 1px solid #e3e3e8; border-radius: 4px; flex: 1; }
.prompt { color: #307fc1; font: 13px ui-monospace, monospace; min-width: 3.5rem; text-align: right; padding-top: .4rem; }
.out { margin: .3rem 0 1rem 4rem; } .stderr { background: #fff5f5; } .error { background: #fdecec; color: #a01818; }
section.code { margin: 1rem 0; } img, svg { max-width: 100%; } table { border-collapse: collapse; } td, th { padding: 2px 8px; border: 1px solid #ddd; }
</style></head><body>
${body}
</body></html>
`;
}

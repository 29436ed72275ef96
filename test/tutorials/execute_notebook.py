"""Executes one notebook with nbclient on the "dawnet" kernel and writes the executed notebook.

Usage: python3 execute_notebook.py IN.ipynb OUT.ipynb [CELL_TIMEOUT_SECONDS] [--slim]
JUPYTER_PATH must point at a prefix holding the dawnet kernelspec (dawnet kernel install --prefix).
--slim (for notebooks to commit): drops the text/html of plotly outputs, which inlines all of plotly.js
(~3.6 MB); the plotly JSON and the static SVG stay, and re-running the cell shows the interactive chart.
Prints one JSON line: {"ok", "seconds", "cells": [[index, seconds], ...], "error"}.
Errors in cells do not stop execution early here (allow_errors=False would raise at the first one,
which hides later problems); the caller inspects every output for error outputs.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


def slim(nb):
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "application/vnd.plotly.v1+json" in data and "text/html" in data:
                del data["text/html"]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src, dst = args[0], args[1]
    cell_timeout = int(args[2]) if len(args) > 2 else 600
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="dawnet",
        timeout=cell_timeout,
        startup_timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}},
    )
    timings = []
    started = time.time()
    error = None
    original = client.async_execute_cell

    async def timed(cell, cell_index, *args, **kwargs):
        t0 = time.time()
        try:
            return await original(cell, cell_index, *args, **kwargs)
        finally:
            timings.append([cell_index, round(time.time() - t0, 2)])

    client.async_execute_cell = timed
    try:
        client.execute()
    except Exception as exc:  # CellExecutionError, timeouts, a dead kernel: reported, not raised
        error = f"{type(exc).__name__}: {str(exc)[:4000]}"
    if "--slim" in sys.argv:
        slim(nb)
    nbformat.write(nb, dst)
    print(json.dumps({"ok": error is None, "seconds": round(time.time() - started, 2), "cells": timings, "error": error}))


if __name__ == "__main__":
    main()

"""Execute a notebook through nbclient (Debian python3-nbclient) with the dawnet kernel.

usage: run_notebook.py NOTEBOOK.ipynb [--output EXECUTED.ipynb] [--timeout SECONDS] [--allow-errors]

JUPYTER_PATH must reach the "dawnet" kernelspec. The kernel runs in the notebook's folder.
Prints one JSON line: {"ok": bool, "error": str|null, "seconds": float, "cells": [{"index", "cell_type",
"source", "execution_count", "outputs"}]} (outputs in nbformat form, also for a failed run).
"""
import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--output")
    parser.add_argument("--timeout", type=int, default=600)
    parser.add_argument("--allow-errors", action="store_true")
    args = parser.parse_args()

    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="dawnet",
        timeout=args.timeout,
        allow_errors=args.allow_errors,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}},
    )
    started = time.time()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = str(err)
    except Exception as err:  # timeouts, dead kernels: report, with the outputs so far
        error = f"{type(err).__name__}: {err}"
    seconds = time.time() - started
    if args.output:
        nbformat.write(nb, args.output)
    cells = [
        {
            "index": i,
            "cell_type": cell.cell_type,
            "source": cell.source,
            "execution_count": cell.get("execution_count"),
            "outputs": cell.get("outputs", []),
        }
        for i, cell in enumerate(nb.cells)
    ]
    print(json.dumps({"ok": error is None, "error": error, "seconds": round(seconds, 3), "cells": cells}))
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(main())

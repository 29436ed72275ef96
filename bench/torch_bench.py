"""PyTorch CPU side of the dawnet benchmarks: the same workloads as bench/dawnet-bench.ts.

Run by bench/run.ts as `/usr/bin/python3 bench/torch_bench.py '<json args>'`; prints one JSON line per result.
Args: {"sections": [...], "sizes": [...], "opSize": int, "opIters": int, "budgetMs": int, "mlp": {...}, "cnn": {...}, "threads": int}
"""
import json
import sys
import time

import torch
import torch.nn as nn


def best_time(fn, budget_ms, min_reps=3):
    fn()
    best = float("inf")
    start = time.perf_counter()
    reps = 0
    while reps < min_reps or (time.perf_counter() - start) * 1000 < budget_ms:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return best * 1000


def emit(bench, size, value, unit, higher=True):
    note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    print(json.dumps({"bench": bench, "size": size, "impl": "torch-cpu", "value": value, "unit": unit, "higherIsBetter": higher, "note": note}), flush=True)


def train(spec, model, make_batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    batches = [make_batch(i) for i in range(8)]
    step = 0

    def train_step():
        nonlocal step
        x, y = batches[step % len(batches)]
        step += 1
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(spec["warmup"]):
        train_step()
    per_window = max(1, round(spec["steps"] / spec["windows"]))
    best = float("inf")
    for _ in range(spec["windows"]):
        t0 = time.perf_counter()
        for i in range(per_window):
            loss = train_step()
            if i % 10 == 9 or i == per_window - 1:
                loss.item()
        best = min(best, time.perf_counter() - t0)
    return per_window * spec["batch"] / best


def main():
    args = json.loads(sys.argv[1])
    # PyTorch's own default unless asked: that is what a user gets (OpenMP threads spin, so 2 threads on a busy 2-core machine can be far slower).
    if args.get("threads"):
        torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    sections = args["sections"]
    if "matmul" in sections:
        for n in args["sizes"]:
            a, b = torch.rand(n, n) - 0.5, torch.rand(n, n) - 0.5
            ms = best_time(lambda: a @ b, args["budgetMs"])
            emit("matmul", n, 2 * n ** 3 / ms / 1e6, "GFLOP/s")
    if "overhead" in sections:
        n, iters = args["opSize"], args["opIters"]
        a, b = torch.rand(n), torch.rand(n)

        def run():
            for _ in range(iters):
                a + b

        ms = best_time(run, 300)
        emit("op-overhead", n, ms * 1000 / iters, "us/op", False)
    if "mlp" in sections:
        spec = args["mlp"]
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        sps = train(spec, model, lambda i: (torch.rand(spec["batch"], 784) - 0.5, torch.randint(0, 10, (spec["batch"],))))
        emit("mlp-train", spec["batch"], sps, "samples/s")
    if "cnn" in sections:
        spec = args["cnn"]
        # Same network as dawnet's (NCHW here, PyTorch's native layout).
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Flatten(),
            nn.Linear(1152, 128), nn.ReLU(), nn.Linear(128, 10),
        )
        sps = train(spec, model, lambda i: (torch.rand(spec["batch"], 1, 28, 28) - 0.5, torch.randint(0, 10, (spec["batch"],))))
        emit("cnn-train", spec["batch"], sps, "samples/s")


if __name__ == "__main__":
    main()

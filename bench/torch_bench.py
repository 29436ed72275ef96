"""PyTorch side of the dawnet benchmarks: the same workloads as bench/dawnet-bench.ts, on the CPU or CUDA.

Run by bench/run.ts as `python3 bench/torch_bench.py '<json args>'`; prints one JSON line per result.
Args: {"sections": [...], "sizes": [...], "opSize": int, "opIters": int, "budgetMs": int, "mlp": {...}, "cnn": {...},
       "threads": int, "device": "cpu" | "cuda", "queue": int}
On CUDA, float32 runs as true float32 (TF32 off for matmul and cuDNN, as WebGPU has no TF32); the matmul is
also reported with TF32 on as impl torch-cuda-tf32, to show what tensor cores add. Every timing synchronizes.
"""
import json
import sys
import time

import torch
import torch.nn as nn


DEVICE = "cpu"


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def best_time(fn, budget_ms, min_reps=3):
    fn()
    sync()
    best = float("inf")
    start = time.perf_counter()
    reps = 0
    while reps < min_reps or (time.perf_counter() - start) * 1000 < budget_ms:
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
        reps += 1
    return best * 1000


def emit(bench, size, value, unit, higher=True, impl=None):
    if DEVICE == "cuda":
        note = f"torch {torch.__version__}, {torch.cuda.get_device_name()}, float32 without TF32 unless -tf32"
    else:
        note = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    impl = impl or f"torch-{DEVICE}"
    print(json.dumps({"bench": bench, "size": size, "impl": impl, "value": value, "unit": unit, "higherIsBetter": higher, "note": note}), flush=True)


def train(spec, model, make_batch):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    batches = [tuple(t.to(DEVICE) for t in make_batch(i)) for i in range(8)]
    model.to(DEVICE)
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


def matmuls(args):
    for n in args["sizes"]:
        a = (torch.rand(n, n) - 0.5).to(DEVICE)
        b = (torch.rand(n, n) - 0.5).to(DEVICE)
        # Like dawnet's "matmul": one product and the whole result read back to the host.
        ms = best_time(lambda: (a @ b).cpu() if DEVICE == "cuda" else a @ b, args["budgetMs"])
        emit("matmul", n, 2 * n ** 3 / ms / 1e6, "GFLOP/s")
        if DEVICE != "cuda":
            continue
        q = args.get("queue", 8)

        def queued():
            for _ in range(q):
                c = a @ b
            return c

        ms = best_time(queued, args["budgetMs"])
        emit("matmul-queued", n, q * 2 * n ** 3 / ms / 1e6, "GFLOP/s")
        torch.backends.cuda.matmul.allow_tf32 = True
        ms = best_time(queued, args["budgetMs"])
        emit("matmul-queued", n, q * 2 * n ** 3 / ms / 1e6, "GFLOP/s", impl="torch-cuda-tf32")
        torch.backends.cuda.matmul.allow_tf32 = False


def main():
    global DEVICE
    args = json.loads(sys.argv[1])
    DEVICE = args.get("device", "cpu")
    if DEVICE == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("torch: CUDA is not available")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # PyTorch's own default unless asked: that is what a user gets (OpenMP threads spin, so 2 threads on a busy 2-core machine can be far slower).
    if args.get("threads"):
        torch.set_num_threads(args["threads"])
    torch.manual_seed(0)
    sections = args["sections"]
    if "matmul" in sections:
        matmuls(args)
    if "overhead" in sections:
        n, iters = args["opSize"], args["opIters"]
        a, b = torch.rand(n, device=DEVICE), torch.rand(n, device=DEVICE)

        def run():
            for _ in range(iters):
                a + b
            sync()

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

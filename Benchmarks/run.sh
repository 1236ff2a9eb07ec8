#!/usr/bin/env bash
# One command for every benchmark: builds in release and prints Markdown tables for BENCHMARKS.md.
# Usage: bash Benchmarks/run.sh [all|spice|devices|training|gemm]   (gemm needs libopenblas-dev)
set -euo pipefail
cd "$(dirname "$0")"
# The product benchmark compares against Debian's OpenBLAS (a benchmark-only dependency, never Bruno's).
if [ ! -f /usr/include/x86_64-linux-gnu/cblas.h ]; then
  apt-get install -y libopenblas-dev >/dev/null || { echo "needs libopenblas-dev (apt-get install libopenblas-dev)"; exit 1; }
fi
swift build -c release --product bruno-bench 2>&1 | tail -n 3
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; $(date -u +%Y-%m-%d)"
.build/release/bruno-bench "${1:-all}"

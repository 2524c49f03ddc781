#!/usr/bin/env bash
# Compiles each op in src/main/cuda into the jar's resources (dev/cm3leon/kernels/):
#   <op>.fatbin            SASS for sm_80 and sm_90, plus compute_90 PTX the driver can JIT for newer GPUs
#   <op>.compute_80.ptx    PTX for the NVRTC-less fallback on GPUs the fatbin does not cover
#   <op>.compute_90.ptx
# and copies the sources beside them (the CUDA backend compiles those with NVRTC when no binary fits), with an
# index.txt the backend reads. Without nvcc it packages the sources alone and succeeds: CI needs no CUDA toolkit.
#
# A source whose accuracy allows it opts into --use_fast_math with a line "// build: fast-math"; the kernels whose
# results are compared with the Java twins (softmax, sampling, norms) do not.
# Usage: build-kernels.sh [output-dir]   (NVCC=/path/to/nvcc to choose one, NVCC= to build without)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src/main/cuda"
out="${1:-$here/target/classes/dev/cm3leon/kernels}"
mkdir -p "$out"
cp "$src"/*.cu "$src"/*.cuh "$out"/

# nvcc: $NVCC if set (empty: build without), else the one on PATH, else $CUDA_HOME/bin/nvcc.
if [ -n "${NVCC+set}" ]; then
  nvcc="$NVCC"
else
  nvcc="$(command -v nvcc || true)"
  [ -z "$nvcc" ] && [ -n "${CUDA_HOME:-}" ] && [ -x "$CUDA_HOME/bin/nvcc" ] && nvcc="$CUDA_HOME/bin/nvcc"
fi

fast_math() { grep -q '^// build: fast-math' "$1"; }

compile() {  # op source: every output is rebuilt when the source or the shared header is newer
  local op="$1" cu="$2" flags=(-O3 -std=c++17 -I "$src")
  fast_math "$cu" && flags+=(--use_fast_math)
  local fatbin="$out/$op.fatbin"
  if [ -s "$fatbin" ] && [ "$fatbin" -nt "$cu" ] && [ "$fatbin" -nt "$src/common.cuh" ] && [ "$fatbin" -nt "$0" ]; then
    return 0
  fi
  "$nvcc" "${flags[@]}" -fatbin -gencode arch=compute_80,code=sm_80 -gencode 'arch=compute_90,code=[sm_90,compute_90]' \
    -o "$fatbin.tmp" "$cu"
  "$nvcc" "${flags[@]}" -ptx -arch=compute_80 -o "$out/$op.compute_80.ptx" "$cu"
  "$nvcc" "${flags[@]}" -ptx -arch=compute_90 -o "$out/$op.compute_90.ptx" "$cu"
  mv "$fatbin.tmp" "$fatbin"
}

index="$out/index.txt"
{
  echo "# op source fatbin ptx80 ptx90 options — written by build-kernels.sh"
  if [ -n "$nvcc" ]; then
    echo "# nvcc: $("$nvcc" --version | tail -n 1)"
  else
    echo "# nvcc: none"
  fi
} > "$index.tmp"

jobs_max="$(nproc 2>/dev/null || echo 2)"
status=0
for cu in "$src"/*.cu; do
  op="$(basename "$cu" .cu)"
  options="-"
  fast_math "$cu" && options="fast-math"
  if [ -n "$nvcc" ]; then
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || status=1; done
    compile "$op" "$cu" &
    echo "$op $op.cu $op.fatbin $op.compute_80.ptx $op.compute_90.ptx $options" >> "$index.tmp"
  else
    echo "$op $op.cu - - - $options" >> "$index.tmp"
  fi
done
while [ -n "$(jobs -rp)" ]; do wait -n || status=1; done
if [ $status -ne 0 ]; then
  rm -f "$index.tmp"
  echo "build-kernels: nvcc failed" >&2
  exit 1
fi
mv "$index.tmp" "$index"
if [ -z "$nvcc" ]; then
  rm -f "$out"/*.fatbin "$out"/*.ptx
  echo "nvcc not found: kernels not compiled; the CUDA backend will compile the packaged sources with NVRTC at first use, or report itself unavailable"
fi

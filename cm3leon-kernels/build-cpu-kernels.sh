#!/usr/bin/env bash
# Compiles the CPU kernels in src/main/c into one shared library among the jar's resources:
#   dev/cm3leon/kernels/cpu/linux-x86_64/libcm3leon_cpu.so
# with the system C compiler ($CC, else cc). Each kernel carries an AVX-512 and an AVX2 body chosen at run time, so
# one build serves every x86-64 CPU that has AVX2. Without a compiler, or on another platform, it packages nothing
# and succeeds: the CPU engine then runs its Java kernels, which are the reference the native ones are tested
# against anyway.
# Usage: build-cpu-kernels.sh [output-dir]   (CC=/path/to/cc to choose one, CC= to build without)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/src/main/c"
out="${1:-$here/target/classes/dev/cm3leon/kernels}/cpu"

if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  echo "build-cpu-kernels: $(uname -s)/$(uname -m): no CPU kernels for this platform; the Java kernels serve"
  exit 0
fi
if [ -n "${CC+set}" ]; then cc="$CC"; else cc="$(command -v cc || command -v gcc || command -v clang || true)"; fi
if [ -z "$cc" ]; then
  echo "build-cpu-kernels: no C compiler found: CPU kernels not built; the Java kernels serve"
  exit 0
fi

lib="$out/linux-x86_64/libcm3leon_cpu.so"
mkdir -p "$(dirname "$lib")"
cp "$src"/*.c "$src"/*.h "$out/"
"$cc" -O2 -std=c11 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -o "$lib.tmp" "$src"/*.c
mv "$lib.tmp" "$lib"
echo "build-cpu-kernels: $lib ($("$cc" --version | head -n 1))"

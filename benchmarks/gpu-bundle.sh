#!/usr/bin/env bash
# Prepares benchmarks/target/gpu-bundle, everything benchmarks/gpu-check.sh needs on a GPU host that has neither
# Maven nor a network (nor, perhaps, a JDK 25):
#   benchmarks.jar   the shaded benchmark jar: API, CUDA backend, kernels (fatbins + PTX + sources), SLF4J
#   test-classes/    cm3leon-native's tests (GPU suites, Java twins, the Maven-free launcher GpuTestMain)
#   test-lib/        JUnit, AssertJ and the API's test helpers (what benchmarks.jar lacks for the tests)
#   fixtures/        the chameleon and chameleon-bf16-sharded fixtures from cm3leon-api/src/test/fixtures
#   jre.tar.xz       a jlinked JDK 25 runtime (unless --no-jre): about 25 MB
# The whole bundle stays under 64 MiB, so it can travel as one carried path.
# Usage: benchmarks/gpu-bundle.sh [--no-jre]   (MVN_ARGS overrides the Maven flags, default "-o -q -B")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bin/jdk.sh"
cm3leon_find_jdk
jre=1
[ "${1:-}" = "--no-jre" ] && jre=0

# shellcheck disable=SC2086
mvn -f "$root/pom.xml" ${MVN_ARGS:--o -q -B} package -DskipTests -pl cm3leon-native,benchmarks -am

bundle="$root/benchmarks/target/gpu-bundle"
rm -rf "$bundle"
mkdir -p "$bundle/test-lib" "$bundle/fixtures"
cp "$root/benchmarks/target/benchmarks.jar" "$bundle/"
cp -r "$root/cm3leon-native/target/test-classes" "$bundle/test-classes"
for jar in "$root"/cm3leon-native/target/test-lib/*.jar; do
  case "$(basename "$jar")" in
    junit-*|opentest4j-*|apiguardian-*|assertj-*|byte-buddy-*|cm3leon-api-*-tests.jar) cp "$jar" "$bundle/test-lib/" ;;
  esac
done
fixtures="${CM3LEON_FIXTURES:-$root/cm3leon-api/src/test/fixtures}"
for f in chameleon chameleon-bf16-sharded; do
  if [ -d "$fixtures/$f" ]; then cp -r "$fixtures/$f" "$bundle/fixtures/"; else echo "gpu-bundle: fixture $fixtures/$f not found" >&2; fi
done
if [ $jre -eq 1 ]; then
  tmp="$(mktemp -d)"
  "$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.sql,java.management,jdk.unsupported,jdk.incubator.vector \
    --strip-debug --no-man-pages --no-header-files --compress zip-9 --output "$tmp/jre" 2>/dev/null
  tar -C "$tmp" -cJf "$bundle/jre.tar.xz" jre
  rm -rf "$tmp"
fi
size=$(du -sm "$bundle" | cut -f1)
echo "gpu-bundle: $bundle (${size} MiB)"
[ "$size" -le 64 ] || echo "gpu-bundle: larger than 64 MiB; drop the runtime with --no-jre if the host has a JDK 25" >&2

#!/usr/bin/env bash
# The GPU proof of the CUDA backend, on an H100/H200-class host: the GPU test suites (every kernel against its Java
# twin, fixture parity of the CUDA engine), then the benchmarks next to PyTorch on the same card, then a markdown
# table for benchmarks/RESULTS.md.
#
# It runs from prebuilt artifacts: the host needs no Maven and no network. On the build machine:
#     benchmarks/gpu-bundle.sh        → benchmarks/target/gpu-bundle (jars, test classes, fixtures, a JDK 25 runtime)
# carry that folder to the GPU host with the checkout, then:
#     benchmarks/gpu-check.sh [all|gpu|tests|bench|decode-warp|hf|report]
# Each stage fits in well under ten minutes; "all" runs them in order, "gpu" all but hf (one call on a GPU host:
# tests, the copy probe, each skinny-product variant alone, decode at 1/2/3 streams with the default skinny
# product and again with the row-per-warp one it replaced, prefill 4096, one image). Results go to $OUT/gpu-check (or
# benchmarks/target/gpu-results). The host needs a JDK 25 only if the bundle carries no jre.tar.xz; PyTorch and HF
# transformers for the comparison (the hf stage reports itself skipped without them). cuBLAS is the libcublas.so.13
# (else .so.12) found on the host, e.g. inside PyTorch's nvidia-cublas wheel; CM3LEON_CUBLAS overrides.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bundle="${CM3LEON_GPU_BUNDLE:-$here/target/gpu-bundle}"
out="${OUT:-$here/target/gpu-results}/gpu-check"
mkdir -p "$out"
stage="${1:-all}"

java_major() { "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1; }

find_java() {
  local candidates=()
  [ -n "${JAVA:-}" ] && candidates+=("$JAVA")
  if [ -f "$bundle/jre.tar.xz" ]; then
    local jre="${TMPDIR:-/tmp}/cm3leon-jre"
    [ -x "$jre/jre/bin/java" ] || { mkdir -p "$jre" && tar -C "$jre" -xJf "$bundle/jre.tar.xz"; }
    candidates+=("$jre/jre/bin/java")
  fi
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for d in /usr/lib/jvm/*; do candidates+=("$d/bin/java"); done
  for c in "${candidates[@]}"; do
    if [ -x "$c" ] && [ "$(java_major "$c")" -ge 25 ] 2>/dev/null; then echo "$c"; return 0; fi
  done
  echo "gpu-check: no Java 25 found (bundle jre.tar.xz, \$JAVA, \$JAVA_HOME, PATH, /usr/lib/jvm)" >&2
  return 1
}

find_cublas() {
  [ -n "${CM3LEON_CUBLAS:-}" ] && return 0
  local lib
  for v in 13 12; do
    lib="$(find / \( -path /proc -o -path /sys -o -path /dev \) -prune -o -name "libcublas.so.$v*" -print 2>/dev/null | sort | head -n 1)"
    if [ -n "$lib" ]; then
      export CM3LEON_CUBLAS="$lib"
      export LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"  # libcublasLt beside it
      return 0
    fi
  done
  echo "gpu-check: no libcublas.so.13/.so.12 on this host: prefill will use the skinny-product kernel" >&2
}

[ -d "$bundle" ] || { echo "gpu-check: $bundle is missing; run benchmarks/gpu-bundle.sh on the build machine and carry it" >&2; exit 2; }
JAVA_BIN="$(find_java)" || exit 2
find_cublas
flags=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -Dorg.slf4j.simpleLogger.defaultLogLevel=info)
{
  echo "host: $(hostname), $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv,noheader 2>&1 | head -n 4
  echo "java: $JAVA_BIN ($(java_major "$JAVA_BIN")), cuBLAS: ${CM3LEON_CUBLAS:-none}"
} | tee "$out/host.txt"

run_tests() {
  echo "== GPU tests"
  "$JAVA_BIN" "${flags[@]}" -Dcm3leon.fixtures="$bundle/fixtures" -Dcm3leon.emulator.dir="$out/emulator" \
    -cp "$bundle/test-classes:$bundle/benchmarks.jar:$bundle/test-lib/*" dev.cm3leon.cuda.GpuTestMain 2>&1 | tee "$out/tests.txt"
  return "${PIPESTATUS[0]}"
}

run_bench() {
  echo "== benchmarks (Chameleon-7B shape, bf16, random weights)"
  "$JAVA_BIN" "${flags[@]}" -cp "$bundle/benchmarks.jar" dev.cm3leon.bench.GpuCheck --hf-config "$out/config.json" 2>&1 | tee "$out/bench.txt"
  return "${PIPESTATUS[0]}"
}

run_decode_warp() {
  echo "== decode steps again with the row-per-warp skinny product (-Dcm3leon.cuda.gemv=warp)"
  "$JAVA_BIN" "${flags[@]}" -Dcm3leon.cuda.gemv=warp -cp "$bundle/benchmarks.jar" dev.cm3leon.bench.GpuCheck \
    --decode-only --tag warp 2>&1 | tee "$out/bench-warp.txt"
  return "${PIPESTATUS[0]}"
}

run_hf() {
  echo "== PyTorch SDPA and HF transformers Chameleon on the same card"
  [ -f "$out/config.json" ] || "$JAVA_BIN" "${flags[@]}" -cp "$bundle/benchmarks.jar" dev.cm3leon.bench.GpuCheck --hf-config "$out/config.json" --config-only
  python3 "$here/gpu/hf_chameleon_bench.py" --config "$out/config.json" 2>&1 | tee "$out/hf.txt"
  return "${PIPESTATUS[0]}"
}

report() {
  python3 - "$out" <<'PY'
import pathlib, sys
out = pathlib.Path(sys.argv[1])
r = {}
for name in ("tests.txt", "bench.txt", "bench-warp.txt", "hf.txt"):
    f = out / name
    if f.exists():
        for line in f.read_text().splitlines():
            if line.startswith("RESULT "):
                _, key, value = line.split()[:3]
                r[key] = float(value)
host = (out / "host.txt").read_text().splitlines() if (out / "host.txt").exists() else []
g = r.get
def fmt(v, unit="", digits=1):
    return "—" if v is None else f"{v:.{digits}f}{unit}"
def met(ok):
    return "—" if ok is None else ("yes" if ok else "**no**")
rows = []
rows.append(("GPU tests (kernels vs Java twins, fixture parity)", f"{fmt(g('gpu_tests_passed'), '', 0)} passed, {fmt(g('gpu_tests_failed'), '', 0)} failed, {fmt(g('gpu_tests_skipped'), '', 0)} skipped", "all pass", met(None if g('gpu_tests_failed') is None else g('gpu_tests_failed') == 0 and (g('gpu_tests_passed') or 0) > 0)))
rows.append(("device-to-device copy (cuMemcpyDtoD, read + write)", fmt(g("d2d_bandwidth_gbs"), " GB/s", 0), "roofline", ""))
for s in (1, 2, 3):
    pct = g(f"decode_{s}_pct_of_d2d")
    rows.append((f"decode, {s} stream{'s' if s > 1 else ''} (ctx ≈ 580, device sampling)",
                 f"{fmt(g(f'decode_{s}_steps_per_s'))} steps/s, {fmt(g(f'decode_{s}_ms_per_step'), ' ms', 2)}, {fmt(g(f'decode_{s}_gbs'), ' GB/s', 0)} = {fmt(pct, ' %')} of copy",
                 "≥ 85 % of copy", met(None if pct is None else pct >= 85)))
    wpct = g(f"decode_warp_{s}_pct_of_d2d")
    if wpct is not None:
        rows.append((f"… the same with the row-per-warp skinny product (-Dcm3leon.cuda.gemv=warp)",
                     f"{fmt(g(f'decode_warp_{s}_steps_per_s'))} steps/s, {fmt(g(f'decode_warp_{s}_ms_per_step'), ' ms', 2)} = {fmt(wpct, ' %')} of copy", "", ""))
rows.append(("prefill, 4096 tokens, 1 stream", f"{fmt(g('prefill_4096_tokens_per_s'), ' tok/s', 0)}, {fmt(g('prefill_4096_tflops'), ' TFLOP/s')}", "", ""))
att, sd = g("attention_4096_ms"), g("sdpa_4096_ms")
ratio = None if att is None or sd is None else sd / att
rows.append(("prefill attention, T = 4096, 32 heads × 128, bf16 causal (ours)", f"{fmt(att, ' ms', 2)}, {fmt(g('attention_4096_tflops'), ' TFLOP/s')}", "≥ 0.8× SDPA", met(None if ratio is None else ratio >= 0.8)))
rows.append(("… PyTorch scaled_dot_product_attention, same shape", f"{fmt(sd, ' ms', 2)}, {fmt(g('sdpa_4096_tflops'), ' TFLOP/s')}; ours = {fmt(ratio, '×', 2)} SDPA's speed", "", ""))
gen, hf = g("generate_1024_cfg_s"), g("hf_generate_1024_cfg_s")
h100 = any("H100" in line for line in host)
rows.append(("text→image, 1024 image tokens, 2-stream CFG, end to end (ours)", f"{fmt(gen, ' s', 2)} ({fmt(g('generate_1024_cfg_tokens_per_s'), ' tok/s')})", "< 6 s on H100", met(None if gen is None else gen < 6) if h100 else "— (not an H100)"))
rows.append(("… HF transformers Chameleon, same shape and loop", f"{fmt(hf, ' s', 2)}; ours {fmt(None if gen is None or hf is None else hf / gen, '× faster', 1)}", "", ""))
print("\n".join("    " + h for h in host))
print()
print("| measurement | result | target | met |")
print("|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
gemv = {}
for key, value in r.items():
    if key.startswith("gemv_") and key.endswith("_pct_of_d2d"):
        variant, shape, n = key[len("gemv_"):-len("_pct_of_d2d")].rsplit("_", 2)
        gemv.setdefault((shape, n), {})[variant] = value
if gemv:
    variants = ["row_per_warp", "tiled", "tiled_staged"]
    print()
    print("Skinny product alone, bf16 weights, % of the copy rate (out×k, rows):")
    print()
    print("| shape | rows | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    for (shape, n), v in sorted(gemv.items(), key=lambda e: (e[0][0], int(e[0][1][1:]))):
        print(f"| {shape} | {n[1:]} | " + " | ".join(fmt(v.get(x), " %") for x in variants) + " |")
PY
}

status=0
case "$stage" in
  tests) run_tests || status=1 ;;
  bench) run_bench || status=1 ;;
  decode-warp) run_decode_warp || status=1 ;;
  hf) run_hf || status=1 ;;
  report) ;;
  gpu) run_tests || status=1; run_bench || status=1; run_decode_warp || status=1 ;;
  all) run_tests || status=1; run_bench || status=1; run_decode_warp || status=1; run_hf || status=1 ;;
  *) echo "usage: gpu-check.sh [all|gpu|tests|bench|decode-warp|hf|report]" >&2; exit 2 ;;
esac
report | tee "$out/report.md"
exit $status

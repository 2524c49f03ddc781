#!/usr/bin/env bash
# Prompt processing and decode speed side by side with llama.cpp's CPU build, on identical GGUF files and threads.
#
#     benchmarks/peer-llamacpp.sh [--types bf16,q8_0,q4_0] [--threads N] [--prompt N] [--tokens N] [--reps N]
#                                 [--models DIR] [--peer DIR]
#
# llama.cpp is the prebuilt CPU build inside the npm package node-llama-cpp (pinned: 3.21.1), installed into a
# temporary folder (or --peer DIR, kept for the next run); nothing of it enters this repository. The package carries
# builds for several x86-64 levels (AVX2 … AVX-512 with BF16 and VNNI) and picks the one the CPU runs. It is driven
# token by token through its API (peer/llamacpp-bench.mjs): the prompt in one evaluation, then greedy generation.
# The model is `bin/cm3leon bench --synthetic llama-1B` written as GGUF (Llama 3.2 1B's shape, random weights,
# tied embeddings), once per type, into --models (default /tmp/cm3leon-peer).
#
# Each run is a fresh process, the two programs alternated, the 1-minute load printed before each; before every
# type the machine's streaming-read bandwidth is measured natively (sysbench, when installed: apt-get install
# sysbench) so decode can be read as a fraction of it. Measure on a quiet machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bin/jdk.sh"
cm3leon_find_jdk

types="bf16,q8_0,q4_0"; threads="$(nproc)"; prompt=512; tokens=128; reps=3
models="${TMPDIR:-/tmp}/cm3leon-peer"; peer=""
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --peer) peer="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v node >/dev/null && command -v npm >/dev/null || { echo "peer-llamacpp: needs node and npm" >&2; exit 2; }

if [ -z "$peer" ]; then
  peer="$(mktemp -d "${TMPDIR:-/tmp}/cm3leon-llamacpp.XXXXXX")"
  trap 'rm -rf "$peer"' EXIT
fi
if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
  echo "installing node-llama-cpp@3.21.1 into $peer …"
  (cd "$peer" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error node-llama-cpp@3.21.1 >/dev/null)
fi
cp "$root/benchmarks/peer/llamacpp-bench.mjs" "$peer/"

. "$root/benchmarks/peer/common.sh"
mean() { awk '{ s += $1; n++ } END { printf "%.2f", s / n }'; }
native_read() {   # GB/s (10^9 B/s) of a native streaming read on $threads threads, or "-" without sysbench
  if command -v sysbench >/dev/null; then
    sysbench memory --memory-oper=read --memory-block-size=1G --memory-total-size=32G --threads="$threads" run 2>/dev/null \
      | sed -n 's/.*(\([0-9.]*\) MiB\/sec).*/\1/p' | awk '{ printf "%.1f", $1 * 1048576 / 1e9 }'
  else
    echo "-"
  fi
}
field() { sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
  "flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o -w -E 'avx2|avx512f|avx512_bf16|avx512_vnni|avx_vnni' | tr '\n' ' ')"
echo "threads $threads, pp$prompt and tg$tokens, $reps runs each, alternated"
summary=()
for type in ${types//,/ }; do
  model="$(synthetic_model "$type")"
  read_gbs="$(native_read)"
  echo "$type: native streaming read (sysbench, $threads threads) $read_gbs GB/s"
  ours_tg=(); ours_pp=(); theirs_tg=(); theirs_pp=(); cpu=""
  for ((i = 1; i <= reps; i++)); do
    l=$(load)
    out="$(node "$peer/llamacpp-bench.mjs" "$model" "$threads" "$prompt" "$tokens" 2>/dev/null | tail -n 1)"
    ttg="$(echo "$out" | field tg_tps)"; tpp="$(echo "$out" | field pp_tps)"
    cpu="$(echo "$out" | sed -n 's/.*"cpu":"\([^"]*\)".*/\1/p')"
    printf '  %s run %d: llama.cpp  pp%s %.1f t/s, tg%s %.2f t/s (load %s)\n' "$type" "$i" "$prompt" "$tpp" "$tokens" "$ttg" "$l"
    theirs_tg+=("$ttg"); theirs_pp+=("$tpp")
    l=$(load)
    table="$("$root/bin/cm3leon" bench --model "$model" -p "$prompt" -n "$tokens" -s 1 -r 1 -t "$threads" 2>/dev/null)"
    otg="$(echo "$table" | grep -E "^\| .*\| tg$tokens +\|" | head -n 1 | awk -F'|' '{ split($7, a, " "); print a[1] }')"
    opp="$(echo "$table" | grep -E "^\| .*\| pp$prompt +\|" | head -n 1 | awk -F'|' '{ split($7, a, " "); print a[1] }')"
    printf '  %s run %d: cm3leon    pp%s %.1f t/s, tg%s %.2f t/s (load %s)\n' "$type" "$i" "$prompt" "$opp" "$tokens" "$otg" "$l"
    ours_tg+=("$otg"); ours_pp+=("$opp")
  done
  [ -n "$cpu" ] && echo "  llama.cpp reports: $cpu"
  a="$(printf '%s\n' "${theirs_tg[@]}" | stats 1)"; b="$(printf '%s\n' "${ours_tg[@]}" | stats 1)"
  c="$(printf '%s\n' "${theirs_pp[@]}" | stats 1)"; d="$(printf '%s\n' "${ours_pp[@]}" | stats 1)"
  rtg="$(awk -v x="$(printf '%s\n' "${ours_tg[@]}" | mean)" -v y="$(printf '%s\n' "${theirs_tg[@]}" | mean)" 'BEGIN { printf "%.2f", x / y }')"
  rpp="$(awk -v x="$(printf '%s\n' "${ours_pp[@]}" | mean)" -v y="$(printf '%s\n' "${theirs_pp[@]}" | mean)" 'BEGIN { printf "%.2f", x / y }')"
  summary+=("| $type | $a | $b | **${rtg}×** | $c | $d | ${rpp}× | $read_gbs |")
done
echo
echo "| weights | llama.cpp tg$tokens t/s | cm3leon tg$tokens t/s | ratio | llama.cpp pp$prompt t/s | cm3leon pp$prompt t/s | ratio | native read GB/s |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|"
printf '%s\n' "${summary[@]}"

#!/usr/bin/env bash
# Decode speed side by side with mukel/llama3.java on identical weights, threads and machine.
#
#     benchmarks/peer-llama3java.sh PATH/TO/llama3.java-checkout [options]
#
#   --types q8_0,q4_0   GGUF weight types to compare (llama3.java also reads bf16)
#   --threads N         threads for both (default: all cores)
#   --tokens N          generated tokens per run (default 128)
#   --reps N            runs of each program, alternated (default 3)
#   --models DIR        where the synthetic GGUF files are written once and reused (default /tmp/cm3leon-peer)
#
# The checkout is not part of this repository; fetch it yourself (it is one source file, Llama3.java). The model is
# `bin/cm3leon bench --synthetic llama-1B` written as GGUF: Llama 3.2 1B's shape with random weights and a minimal
# tokenizer llama3.java accepts (256 byte-level tokens, no merges, filler, Llama 3's special tokens from id 128000).
#
# Each run is a fresh JVM. llama3.java runs in instruct mode, greedy, and prints its own generation rate, measured
# after its prompt (which compiles its kernels); cm3leon runs `bench -p 0 -n N -s 1 -r 1`, which warms up with a
# short generation first. Both rates count generated tokens over the time after the prompt. The 1-minute load is
# printed before every run: measure on a quiet machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/bin/jdk.sh"
cm3leon_find_jdk

peer="${1:-}"
if [ -z "$peer" ] || [ ! -f "$peer/Llama3.java" ]; then
  echo "usage: $0 PATH/TO/llama3.java-checkout [--types q8_0,q4_0] [--threads N] [--tokens N] [--reps N] [--models DIR]" >&2
  exit 2
fi
shift
types="q8_0,q4_0"; threads="$(nproc)"; tokens=128; reps=3; models="${TMPDIR:-/tmp}/cm3leon-peer"
while [ $# -gt 0 ]; do
  case "$1" in
    --types) types="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --tokens) tokens="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

major="$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1)"
classes="$models/llama3java-classes"
if [ ! -f "$classes/com/llama4j/Llama3.class" ] || [ "$peer/Llama3.java" -nt "$classes/com/llama4j/Llama3.class" ]; then
  mkdir -p "$classes"
  "$JAVA_HOME/bin/javac" --enable-preview --source "$major" --add-modules jdk.incubator.vector -nowarn \
    -d "$classes" "$peer/Llama3.java" 2>/dev/null
fi
# The flags its own launcher header asks for; the common pool has threads − 1 workers beside the calling thread.
peer_java=("$JAVA_HOME/bin/java" --enable-preview --add-modules jdk.incubator.vector
  -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0
  -Djava.util.concurrent.ForkJoinPool.common.parallelism=$((threads - 1)) -cp "$classes" com.llama4j.Llama3)
prompt="Why is the sky blue?"

. "$root/benchmarks/peer/common.sh"

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; JDK $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
echo "threads $threads, $tokens generated tokens, $reps runs each, alternated"
summary=()
for type in ${types//,/ }; do
  model="$(synthetic_model "$type")"
  # llama3.java's context must hold its prompt (chat layout + bytes) and the generated tokens; the first generated
  # token comes from the prompt's logits, so a context of prompt + N − 1 positions generates N.
  promptTokens="$("${peer_java[@]}" --model "$model" --prompt "$prompt" --max-tokens 1 --temperature 0 --stream false 2>&1 \
    | sed -n 's/.*prompt: [-0-9.]* tokens\/s (\([0-9]*\)).*/\1/p')"
  ours=(); theirs=()
  for ((i = 1; i <= reps; i++)); do
    l=$(load)
    line="$("$root/bin/cm3leon" bench --model "$model" -p 0 -n "$tokens" -s 1 -r 1 -t "$threads" 2>/dev/null \
      | grep -E "^\| .*\| tg$tokens +\|" | head -n 1)"
    tps="$(echo "$line" | awk -F'|' '{ split($7, a, " "); print a[1] }')"
    echo "  $type run $i: cm3leon     $tps tokens/s (load $l)"
    ours+=("$tps")
    l=$(load)
    out="$("${peer_java[@]}" --model "$model" --prompt "$prompt" --max-tokens $((promptTokens + tokens - 1)) \
      --temperature 0 --seed 42 --stream false 2>&1 >/dev/null | grep 'generation:')"
    tps="$(echo "$out" | sed -n 's/.*generation: \([0-9.]*\) tokens\/s (\([0-9]*\)).*/\1/p')"
    generated="$(echo "$out" | sed -n 's/.*generation: [0-9.]* tokens\/s (\([0-9]*\)).*/\1/p')"
    echo "  $type run $i: llama3.java $tps tokens/s, $generated tokens (load $l)"
    theirs+=("$tps")
  done
  a="$(printf '%s\n' "${ours[@]}" | stats)"; b="$(printf '%s\n' "${theirs[@]}" | stats)"
  ratio="$(awk -v x="${a%% *}" -v y="${b%% *}" 'BEGIN { printf "%.2f", x / y }')"
  summary+=("| llama-1B synthetic | $type | $threads | tg$tokens | $a | $b | ${ratio}× |")
done
echo
echo "| model | type | threads | test | cm3leon t/s | llama3.java t/s | ratio |"
echo "| --- | --- | --: | --- | --: | --: | --: |"
printf '%s\n' "${summary[@]}"

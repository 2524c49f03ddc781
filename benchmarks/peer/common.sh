# Sourced by the peer-*.sh scripts: the pieces every side-by-side run shares. Needs $root (the checkout) and $models.
stats() {   # mean ± sample stddev of the numbers on stdin, with $1 decimals (default 2)
  awk -v d="${1:-2}" '{ s += $1; q += $1 * $1; n++ } END { m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0;
         if (v < 0) v = 0; printf "%." d "f ± %." d "f", m, sqrt(v) }'
}
load() { cut -d' ' -f1 /proc/loadavg; }
synthetic_model() {   # the path of the llama-1B GGUF of weight type $1, written once into $models
  local model="$models/llama-$1/synthetic-llama-1B.gguf"
  if [ ! -f "$model" ]; then
    "$root/bin/cm3leon" bench --synthetic llama-1B --synthetic-format gguf --synthetic-type "$1" \
      --dir "$models/llama-$1" -p 0 -n 0 2>/dev/null | head -n 1 >&2
  fi
  echo "$model"
}

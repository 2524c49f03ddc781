#!/usr/bin/env bash
# Trains the demo model's parts within a wall-clock budget and evaluates them, on one GPU (or, slowly, the CPU):
#   CLIP and the VQ-GAN side by side, then two language-model variants side by side on the VQ-GAN's codes
#   (a: width 256, 4 layers; b: width 192, 6 layers), then eval.py on each. export.py then writes the folder
#   from the variant chosen (see README.md).
#
#   examples/train/train_all.sh [RUNS_DIR]        environment: DEVICE (cuda), VQ_MIN, LM_MIN, CLIP_STEPS,
#                                                 POOL, WORKERS, EVAL_N
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
runs="$(mkdir -p "${1:-$here/runs}" && cd "${1:-$here/runs}" && pwd)"
cd "$here"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
py="${PYTHON:-python3}"
dev="${DEVICE:-cuda}"
vq_min="${VQ_MIN:-1.6}"
lm_min="${LM_MIN:-4.5}"
clip_steps="${CLIP_STEPS:-3000}"
pool="${POOL:-100000}"
workers="${WORKERS:-6}"
eval_n="${EVAL_N:-200}"
t0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

stamp "CLIP and VQ-GAN on $dev"
$py train_clip.py --device "$dev" --out "$runs/clip.pt" --steps "$clip_steps" --batch 256 --seed 3 >"$runs/clip.log" 2>&1 &
clip_pid=$!
$py train_vq.py --device "$dev" --out "$runs/vq.pt" --steps 1000000 --minutes "$vq_min" --batch 256 --seed 1 \
  --log_every 200 >"$runs/vq.log" 2>&1 || { stamp "VQ-GAN training failed"; tail -n 20 "$runs/vq.log"; exit 1; }
stamp "VQ-GAN: $(grep EVAL "$runs/vq.log")"

lm() {  # name hidden inter layers
  $py train_lm.py --device "$dev" --vq "$runs/vq.pt" --out "$runs/lm_$1.pt" --procs 1 --workers "$workers" \
    --docs 256 --micro 2 --minutes "$lm_min" --steps 1000000 --lr 2e-3 --pool "$pool" --seed 2 \
    --hidden "$2" --inter "$3" --layers "$4" --eval_n 0 --bf16 --save_bf16 --log_every 500 --save_every 2000 \
    >"$runs/lm_$1.log" 2>&1 || stamp "language model $1 failed: $(tail -n 3 "$runs/lm_$1.log")"
}
stamp "language models on $dev, $lm_min min each"
lm a 256 704 4 &
pa=$!
lm b 192 512 6 &
pb=$!
wait "$pa" "$pb" "$clip_pid"
stamp "CLIP: $(grep EVAL "$runs/clip.log")"
for v in a b; do stamp "lm_$v: $(tail -n 2 "$runs/lm_$v.log" | head -n 1)"; done

for v in a b; do
  [ -f "$runs/lm_$v.pt" ] || continue
  $py eval.py --device "$dev" --vq "$runs/vq.pt" --lm "$runs/lm_$v.pt" --clip "$runs/clip.pt" --n "$eval_n" \
    --rerank 8 --rerank_n "$eval_n" --out "$runs/eval_$v.json" >"$runs/eval_$v.log" 2>&1 &
done
wait
for v in a b; do [ -f "$runs/eval_$v.json" ] && { stamp "eval lm_$v"; grep -v '^[a-z_0-9.]* [0-9{]' "$runs/eval_$v.log"; }; done
stamp "done"

#!/usr/bin/env bash
# How the shipped digits16 model was trained: on one GPU machine, two stage-0 runs side by side
# (the GPU is far from busy with a 1.9M-parameter net), each sized to a time budget, then JFDL
# stages 1-2 for each. The better run (by the evaluation) is exported. Usage:
#   bash training/train_gpu.sh OUT_DIR [MINUTES]
set -euo pipefail
out=${1:?out dir}; min=${2:-5.5}
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1
py=${PYTHON:-python3}
mkdir -p "$out"
run() {  # name batch lr seed
  $py -m training train --out "$out/$1" --minutes "$min" --batch "$2" --lr "$3" --seed "$4" --ema-decay 0.9999 \
    > "$out/$1.log" 2>&1
  $py -m training align --out "$out/$1" --stage1-iters 3000 --stage2-iters 3000 --batch 256 >> "$out/$1.log" 2>&1
}
nvidia-smi -L || true
$py -c "import torch; print('torch', torch.__version__, torch.cuda.is_available())"
run a 512 2e-4 0 & pa=$!
run b 256 4e-4 1 & pb=$!
wait $pa; wait $pb
tail -n 3 "$out"/a/stage0/loss.jsonl "$out"/b/stage0/loss.jsonl
cat "$out"/a.log "$out"/b.log | grep -v '^ ' | tail -n 40

#!/usr/bin/env bash
# FeLIF outputs (BRUNO) vs LIF outputs vs FeLIF coarse-only on synthetic Braille, 3-bit RRAM synapses, several
# seeds; prints mean ± sd of the test accuracy (last epoch, and at the best selection-set epoch).
# Usage: bash Benchmarks/training/braille-comparison.sh [seeds=5] [epochs=25]   (from the package root)
set -euo pipefail
seeds=${1:-5}
epochs=${2:-25}
swift build -c release --product bruno >/dev/null
out=runs/braille-comparison
mkdir -p "$out"
for seed in $(seq 1 "$seeds"); do
  for variant in felif-bruno lif felif-coarse; do
    case $variant in
      felif-bruno) extra=() ;;
      lif) extra=(--set network.output=lif) ;;
      felif-coarse) extra=(--set felif.mode=coarse_only) ;;
    esac
    dir="$out/$variant-seed$seed"
    if [ -f "$dir/checkpoint.json" ]; then resume=(--resume); else resume=(); fi
    .build/release/bruno train --config experiments/braille-synthetic.toml --set run.seed=$seed --set run.epochs=$epochs \
      "${extra[@]}" --out "$dir" "${resume[@]}" | tail -1
  done
done
python3 - "$out" "$seeds" <<'PY'
import json, sys, statistics as st
out, seeds = sys.argv[1], int(sys.argv[2])
print("| output neurons | test acc. (last epoch) | test acc. (best selection epoch) | s/epoch | spikes/sample (output layer) |")
print("|---|---|---|---|---|")
for variant, name in [("felif-bruno", "FeLIF, BRUNO"), ("lif", "LIF"), ("felif-coarse", "FeLIF, coarse-only")]:
    last, best, sec, spk = [], [], [], []
    for s in range(1, seeds + 1):
        m = [json.loads(l) for l in open(f"{out}/{variant}-seed{s}/metrics.jsonl")]
        last.append(m[-1]["test_accuracy"])
        b = max(m, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
        best.append(b["test_accuracy"])
        sec.append(st.mean(r["epoch_seconds"] for r in m))
        keys = sorted(m[-1]["spikes_per_sample"], key=lambda k: int(k[5:]))
        spk.append(m[-1]["spikes_per_sample"][keys[-1]])
    sd = lambda v: st.stdev(v) if len(v) > 1 else 0
    print(f"| {name} | {st.mean(last):.3f} ± {sd(last):.3f} | {st.mean(best):.3f} ± {sd(best):.3f} | {st.mean(sec):.1f} | {st.mean(spk):.1f} |")
PY

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
  for variant in felif-bruno lif felif-coarse felif-bruno-eulergrad; do
    case $variant in
      felif-bruno) extra=() ;;
      lif) extra=(--set network.output=lif) ;;
      felif-coarse) extra=(--set felif.mode=coarse_only) ;;
      felif-bruno-eulergrad) extra=(--set felif.coarse_gradient=euler) ;;
    esac
    dir="$out/$variant-seed$seed"
    # The Euler-gradient ablation runs on the first two seeds only (it is there to show the explosion).
    if [ "$variant" = felif-bruno-eulergrad ] && [ "$seed" -gt 2 ]; then continue; fi
    # A finished run is kept as it is.
    if [ -f "$dir/metrics.jsonl" ] && [ "$(wc -l < "$dir/metrics.jsonl")" -ge "$epochs" ]; then continue; fi
    if [ -f "$dir/checkpoint.json" ]; then resume=(--resume); else resume=(); fi
    .build/release/bruno train --config experiments/braille-synthetic.toml --set run.seed=$seed --set run.epochs=$epochs \
      "${extra[@]}" --out "$dir" "${resume[@]}" | tail -1
  done
done
python3 - "$out" "$seeds" <<'PY'
import json, os, sys, statistics as st
out, seeds = sys.argv[1], int(sys.argv[2])
print("| output neurons | test acc. (last epoch) | test acc. (best selection epoch) | median s/epoch | spikes/sample (output layer) | SPICE class agreement | SPICE |Δ spikes| | SPICE check s |")
print("|---|---|---|---|---|---|---|---|")
for variant, name in [("felif-bruno", "FeLIF, BRUNO"), ("lif", "LIF"), ("felif-coarse", "FeLIF, coarse-only"),
                      ("felif-bruno-eulergrad", "FeLIF, BRUNO with the reference's Euler coarse gradient")]:
    last, best, sec, spk = [], [], [], []
    runs = [s for s in range(1, seeds + 1) if os.path.exists(f"{out}/{variant}-seed{s}/metrics.jsonl")]
    for s in runs:
        m = [json.loads(l) for l in open(f"{out}/{variant}-seed{s}/metrics.jsonl")]
        last.append(m[-1]["test_accuracy"])
        b = max(m, key=lambda r: (r["valid_accuracy"], -r["epoch"]))
        best.append(b["test_accuracy"])
        sec.append(st.median(r["epoch_seconds"] for r in m))
        keys = sorted(m[-1]["spikes_per_sample"], key=lambda k: int(k[5:]))
        spk.append(m[-1]["spikes_per_sample"][keys[-1]])
    sd = lambda v: st.stdev(v) if len(v) > 1 else 0
    checks = [r["validation"] for s in runs for r in (json.loads(l) for l in open(f"{out}/{variant}-seed{s}/metrics.jsonl")) if r.get("validation")]
    ca = [c["class_agreement"] for c in checks if "class_agreement" in c]
    ce = [c["spike_count_error"] for c in checks if "spike_count_error" in c]
    cs = [c["seconds"] for c in checks]
    f = lambda v, fmt: (fmt % st.mean(v)) if v else "—"
    name += f" ({len(runs)} seeds)"
    print(f"| {name} | {st.mean(last):.3f} ± {sd(last):.3f} | {st.mean(best):.3f} ± {sd(best):.3f} | {st.mean(sec):.1f} | {st.mean(spk):.1f} | {f(ca, '%.2f')} | {f(ce, '%.2f')} | {f(cs, '%.1f')} |")
PY

#!/bin/bash
# The shipped UEA experiments (experiments/uea-*.toml) on ../shared/data/uea, each for the given seeds; prints one
# Markdown row per set: test accuracy at the restored best-selection epoch (mean ± sd over seeds) and seconds per
# epoch. Needs a release build: swift build -c release --product bruno [--build-path DIR; BRUNO=DIR/release/bruno].
# $1 seeds (default "1 2 3"), $2 sets (default "gunpoint arrowhead italypower osuleaf plaid")
set -e
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BRUNO="${BRUNO:-$ROOT/.build/release/bruno}"
SEEDS="${1:-1 2 3}"; SETS="${2:-gunpoint arrowhead italypower osuleaf plaid}"
OUT="${UEA_OUT:-/tmp/bruno-uea}"; mkdir -p "$OUT"
for s in $SETS; do
  for seed in $SEEDS; do
    d="$OUT/$s-$seed"; rm -rf "$d"
    "$BRUNO" train --config "$ROOT/experiments/uea-$s.toml" --out "$d" --set run.seed=$seed > "$d.log" 2>&1
  done
  python3 - "$OUT" "$s" $SEEDS <<'PY'
import json, sys, statistics as st
out, name, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
acc, secs = [], []
for seed in seeds:
    m = [json.loads(l) for l in open(f"{out}/{name}-{seed}/metrics.jsonl")]
    best = json.load(open(f"{out}/{name}-{seed}/best.json"))["epoch"]
    acc.append(next(x for x in m if x["epoch"] == best)["test_accuracy"])
    secs += [x["epoch_seconds"] for x in m]
sd = st.stdev(acc) if len(acc) > 1 else 0
print(f"| {name} | {st.mean(acc):.3f} ± {sd:.3f} | {', '.join('%.3f' % a for a in acc)} | {st.median(secs):.1f} |")
PY
done

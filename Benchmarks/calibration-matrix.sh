#!/bin/bash
# The issue-12 netlist matrix with the shipped FeLIF protocol through the release CLI, fitting the quantities given
# as $1 (e.g. '["threshold", "deadTime"]'); prints one Markdown row per case. Needs swift build -c release.
# $1 protocol quantities JSON
set -e
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
Q="$1"; R=/tmp/mx; rm -rf $R; mkdir -p $R
run() { name="$1"; shift; d=$R/$name; mkdir -p $d; cp -r $ROOT/netlists $ROOT/models $d/
  while [ $# -gt 0 ]; do f=$1; old=$2; new=$3; shift 3; python3 -c "import sys;p=sys.argv[1];s=open(p).read();assert sys.argv[2] in s;open(p,'w').write(s.replace(sys.argv[2],sys.argv[3].replace('\\\\n','\n')))" "$d/$f" "$old" "$new"; done
  sed "s|quantities = \[.*\]|quantities = $Q|; s|\"../netlists/felif_neuron.cir\"|\"$d/netlists/felif_neuron.cir\"|" $ROOT/calibration/felif.toml > $d/p.toml
  $ROOT/.build/release/bruno calibrate felif --protocol $d/p.toml --out $d/out > $d/log 2>&1 || true
  python3 - "$d/out/felif.card.json" "$name" <<'PY'
import json,sys
c=json.load(open(sys.argv[1])); f=[p for p in c['parameters'] if p['fitted']]
print('|',sys.argv[2],'| %.3f %%'%(c['statistics']['held_out_nrmse_max']*100),'|',', '.join(p['name']+(' %+.2f %%'%((p['value']/p['netlistValue']-1)*100) if p.get('netlistValue') else ' %.3g'%p['value']) for p in f),'|')
PY
}
N=netlists/felif_neuron.cir; M=models/felif.lib
run c1 $N "idsc={idsc}" "idsc={idsc} ps=0.253 vidsc=1.5"
run c2 $M "j0=1e-4" "j0=3e-4" $M "+ area=25e-12" "+ area=30e-12"
run c3 $N "idsc={idsc}" "idsc={idsc} ea=1.397e9 alpha=1.4"
run c4 $M "+ cpar=15f" "+ cpar=22f" $M "+ vreset=-1.5" "+ vreset=-1.2" $N ".param vthr=2.5" ".param vthr=2.3"
run c5 $N ".param idsc=10p" ".param idsc=15p" $N "idsc={idsc}" "idsc={idsc} tfe=12e-9 ps=0.2"
run c6 $N ".param idsc=10p" ".param idsc=10p\n.param scale=1.2" $N "idsc={idsc}" "idsc={idsc} area={25e-12*scale} ea={1e9*scale} j0={2e-4}"
run c7 $N ".param vthr=2.5" ".param vthr=2.7" $N "idsc={idsc}" "idsc={idsc} alpha=1.2 cpar=10f"
run c8 $M "+ vreset=-1.5" "+ vreset=-1.8" $M "ps=0.22" "ps=0.25" $M "j0=1e-4" "j0=5e-5"

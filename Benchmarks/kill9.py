#!/usr/bin/env python3
"""kill -9 at seeded random moments in `bruno train`, `calibrate`, `export` and `validate` (issue #14).

After every kill the folder is checked: no file under its final name is partial (JSON/JSONL/TOML parse, SVG
and netlists are complete, CSV rows have one width), no record is duplicated (metrics.jsonl epochs are
1, 2, ... once each; validation.jsonl has one record per epoch and layer). The killed job is then resumed
(`train --resume`, alternating BRUNO_THREADS between 1 and 2) or re-run (calibrate, export, validate), and its
result is compared with an uninterrupted reference run made first: checkpoint weights and per-epoch losses
bit-identical, card parameters identical, export files byte-identical, the validation record identical.

Usage: python3 Benchmarks/kill9.py [--bruno .build/release/bruno] [--kills 36] [--seed 1] [--work DIR]
Prints a Markdown table for BENCHMARKS.md and writes DIR/kill9.json. Needs a release build
(swift build -c release --product bruno).
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A small Braille run with a SPICE check every other epoch, so validation.jsonl is written during training.
TRAIN_SETTINGS = [
    "run.epochs=6", "run.batch=16", "data.train_per_class=8", "data.valid_per_class=1", "data.test_per_class=1",
    "data.steps=60", "network.encoding=48", "network.hidden=[64]", "felif.fine_steps=20", "validation.every=2",
    "validation.samples=1", "validation.columns=1", "validation.instances=1",
]
TIMING_KEYS = {"epoch_seconds", "wall_seconds", "peak_memory_mb", "backward_store_mb", "seconds", "spice_seconds",
               "date", "wall_s"}


def sets(settings):
    out = []
    for s in settings:
        out += ["--set", s]
    return out


class Harness:
    def __init__(self, bruno, work, rng):
        self.bruno, self.work, self.rng = bruno, work, rng
        self.rows = []

    def run(self, args, env=None, check=True):
        e = dict(os.environ, **(env or {}))
        p = subprocess.run([self.bruno] + args, cwd=ROOT, env=e, capture_output=True, text=True)
        if check and p.returncode != 0:
            sys.exit(f"bruno {' '.join(args)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
        return p

    def kill_after(self, args, delay, env=None):
        """Starts bruno, sends SIGKILL after `delay` seconds; returns True if it was still running."""
        e = dict(os.environ, **(env or {}))
        p = subprocess.Popen([self.bruno] + args, cwd=ROOT, env=e, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=delay)
            return False
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
            return True

    # ---- integrity -------------------------------------------------------------------------------------
    @staticmethod
    def problems(folder):
        found = []
        for base, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(base, name)
                rel = os.path.relpath(path, folder)
                if ".tmp-" in name or ".nosync" in name or name == ".lock":
                    continue  # temporaries of the killed writer: removed by the next run (checked below)
                try:
                    data = open(path, "rb").read()
                    if name.endswith(".json"):
                        json.loads(data)
                    elif name.endswith(".jsonl"):
                        lines = data.decode().splitlines()
                        records = [json.loads(l) for l in lines if l.strip()]
                        if not data.endswith(b"\n") and data:
                            found.append(f"{rel}: last line unterminated")
                        if name == "metrics.jsonl":
                            epochs = [r["epoch"] for r in records]
                            if epochs != list(range(1, len(epochs) + 1)):
                                found.append(f"{rel}: epochs {epochs}")
                        if name == "validation.jsonl":
                            keys = [(r.get("epoch"), r.get("layer")) for r in records]
                            if len(keys) != len(set(keys)):
                                found.append(f"{rel}: duplicate records {keys}")
                    elif name.endswith(".toml"):
                        tomllib.loads(data.decode())
                    elif name.endswith(".svg"):
                        if not data.rstrip().endswith(b"</svg>"):
                            found.append(f"{rel}: SVG cut short")
                    elif name.endswith(".csv"):
                        rows = [r for r in data.decode().splitlines() if r and not r.startswith("#")]
                        widths = {len(r.split(",")) for r in rows}
                        if len(widths) > 1:
                            found.append(f"{rel}: rows of widths {sorted(widths)}")
                    elif name.endswith((".cir", ".lib")):
                        if not data.endswith(b"\n") or not data.strip():
                            found.append(f"{rel}: cut short")
                    elif name.endswith(".md"):
                        if not data.endswith(b"\n"):
                            found.append(f"{rel}: cut short")
                except Exception as error:  # noqa: BLE001 - any parse failure is a partial file
                    found.append(f"{rel}: {type(error).__name__}: {error}")
        return found

    @staticmethod
    def temporaries(folder):
        return [os.path.join(b, n) for b, _, fs in os.walk(folder) for n in fs if ".tmp-" in n or ".nosync" in n]

    def record(self, job, delay, killed, problems, leftover, identical, note=""):
        self.rows.append(dict(job=job, delay=round(delay, 2), killed=killed, problems=problems,
                              temporaries_after_rerun=leftover, identical=identical, note=note))
        mark = "ok" if not problems and identical and not leftover else "FAIL"
        print(f"  {job:9s} kill at {delay:6.2f} s: {'killed' if killed else 'finished first'}; "
              f"{len(problems)} partial/duplicate, identical={identical} {note} [{mark}]", flush=True)
        for p in problems:
            print(f"      {p}")


def strip_timing(value):
    if isinstance(value, dict):
        return {k: strip_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


def train_state(folder):
    cp = json.load(open(os.path.join(folder, "checkpoint.json")))
    metrics = [strip_timing(json.loads(l)) for l in open(os.path.join(folder, "metrics.jsonl")) if l.strip()]
    validation = []
    vpath = os.path.join(folder, "validation.jsonl")
    if os.path.exists(vpath):
        validation = [strip_timing(json.loads(l)) for l in open(vpath) if l.strip()]
    return cp["parameters"], cp["epoch"], metrics, validation


def card_state(folder):
    card = json.load(open(os.path.join(folder, "felif.card.json")))
    card["provenance"].pop("date", None)
    return card


def folder_bytes(folder):
    out = {}
    for base, _, files in os.walk(folder):
        for n in files:
            if ".tmp-" not in n and ".nosync" not in n and n != ".lock":
                out[os.path.relpath(os.path.join(base, n), folder)] = open(os.path.join(base, n), "rb").read()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bruno", default=os.path.join(ROOT, ".build/release/bruno"))
    ap.add_argument("--kills", type=int, default=36, help="kills in all (split over the four commands)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default="/tmp/bruno-kill9")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    h = Harness(os.path.abspath(args.bruno), args.work, rng)
    w = lambda *p: os.path.join(args.work, *p)  # noqa: E731

    print("reference runs (uninterrupted)", flush=True)
    t0 = time.time()
    h.run(["train"] + sets(TRAIN_SETTINGS) + ["--out", w("ref-train")], env={"BRUNO_THREADS": "1"})
    t_train = time.time() - t0
    t0 = time.time()
    h.run(["calibrate", "felif", "--out", w("ref-cal")])
    t_cal = time.time() - t0
    t0 = time.time()
    h.run(["export", "--run", w("ref-train"), "--out", w("ref-export")])
    t_export = time.time() - t0
    shutil.copytree(w("ref-train"), w("ref-validate"))
    t0 = time.time()
    h.run(["validate", "--run", w("ref-validate"), "--samples", "2", "--columns", "2"])
    t_validate = time.time() - t0
    print(f"  train {t_train:.1f} s, calibrate {t_cal:.1f} s, export {t_export:.1f} s, validate {t_validate:.1f} s")
    ref_train = train_state(w("ref-train"))
    ref_card = card_state(w("ref-cal"))
    ref_export = folder_bytes(w("ref-export"))
    ref_validation = train_state(w("ref-validate"))[3]

    per = max(1, args.kills // 4)
    extra = args.kills - 4 * per
    # train: several kills per run (kill, resume, kill again ...) until it finishes, on alternating thread counts.
    print(f"train: {per + extra} kills", flush=True)
    kills, run_index = 0, 0
    while kills < per + extra:
        run_index += 1
        folder = w(f"train-{run_index}")
        first_row = len(h.rows)
        started = False
        for _ in range(3):
            if kills >= per + extra:
                break
            delay = rng.uniform(0.3, t_train)
            threads = str(1 + (kills % 2))
            cmd = ["train"] + sets(TRAIN_SETTINGS) + ["--out", folder]
            if started and os.path.exists(os.path.join(folder, "checkpoint.json")):
                cmd.append("--resume")
            elif os.path.exists(folder):
                shutil.rmtree(folder)  # killed before the first checkpoint: start over (what a user does)
            killed = h.kill_after(cmd, delay, env={"BRUNO_THREADS": threads})
            started = True
            kills += 1
            h.record("train", delay, killed, h.problems(folder), [], True, f"threads {threads}")
            if not killed:
                break
        # Finish on the other thread count, then compare with the reference.
        cmd = ["train"] + sets(TRAIN_SETTINGS) + ["--out", folder]
        if os.path.exists(os.path.join(folder, "checkpoint.json")):
            state = json.load(open(os.path.join(folder, "checkpoint.json")))
            if state["epoch"] < 6:
                h.run(cmd + ["--resume"], env={"BRUNO_THREADS": "2"})
        else:
            shutil.rmtree(folder, ignore_errors=True)
            h.run(cmd, env={"BRUNO_THREADS": "2"})
        same = train_state(folder) == ref_train
        leftover = h.temporaries(folder)
        for row in h.rows[first_row:]:
            row["identical"] = same
        h.rows[-1]["temporaries_after_rerun"] = leftover
        print(f"    run {run_index} resumed to the end: identical to the reference = {same}; "
              f"{len(leftover)} temporaries left", flush=True)

    def kill_rerun(job, count, duration, command, compare, setup=None):
        print(f"{job}: {count} kills", flush=True)
        for i in range(count):
            folder = w(f"{job}-{i}")
            if setup:
                setup(folder)
            delay = rng.uniform(0.002, max(0.01, 1.2 * duration))
            killed = h.kill_after(command(folder), delay)
            problems = h.problems(folder) if os.path.exists(folder) else []
            h.run(command(folder))
            h.record(job, delay, killed, problems, h.temporaries(folder), compare(folder))

    kill_rerun("calibrate", per, t_cal, lambda f: ["calibrate", "felif", "--out", f],
               lambda f: card_state(f) == ref_card)
    kill_rerun("export", per, t_export, lambda f: ["export", "--run", w("ref-train"), "--out", f],
               lambda f: folder_bytes(f) == ref_export)
    kill_rerun("validate", per, t_validate,
               lambda f: ["validate", "--run", f, "--samples", "2", "--columns", "2"],
               lambda f: train_state(f)[3] == ref_validation,
               setup=lambda f: shutil.copytree(w("ref-train"), f))

    failures = [r for r in h.rows if r["problems"] or not r["identical"] or r["temporaries_after_rerun"]]
    killed = sum(r["killed"] for r in h.rows)
    summary = dict(kills=len(h.rows), killed_mid_run=killed, failures=len(failures), rows=h.rows,
                   reference_seconds=dict(train=t_train, calibrate=t_cal, export=t_export, validate=t_validate))
    json.dump(summary, open(w("kill9.json"), "w"), indent=1)
    print("\n| command | kills | killed mid-run | partial or duplicate files | rerun identical | temporaries left |")
    print("|---|---|---|---|---|---|")
    for job in ["train", "calibrate", "export", "validate"]:
        rows = [r for r in h.rows if r["job"] == job]
        print(f"| {job} | {len(rows)} | {sum(r['killed'] for r in rows)} | {sum(len(r['problems']) for r in rows)} | "
              f"{sum(r['identical'] for r in rows)}/{len(rows)} | {sum(len(r['temporaries_after_rerun']) for r in rows)} |")
    print(f"\n{len(h.rows)} kills, {killed} mid-run, {len(failures)} failures; details in {w('kill9.json')}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

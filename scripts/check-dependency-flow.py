#!/usr/bin/env python3
"""Checks Package.swift's one-way data flow from `swift package describe --type json` (issue #17).

Every library target has a place in FLOW; a target may depend only on targets before it (or on C/system and
kernel targets listed as ANYWHERE). The training engine's dependency closure must not reach the simulator.
Prints each violation with the edge that causes it and exits 1; prints the closure it checked otherwise.
"""
import json
import subprocess
import sys

# The order of the flow: Support ← Spice ← Devices; Surrogates ← Cards ← Calibration; Data; Training ← Chip
# ← Validation, Export; Pipeline ← CLI. Targets on one line of the brief's diagram have no order among themselves
# here beyond what is written; a dependency on a later entry is a crossed flow.
FLOW = [
    "BrunoSupport", "BrunoSpice", "BrunoSurrogates", "BrunoDevices", "BrunoCards", "BrunoData", "BrunoScaleOut",
    "BrunoCalibration", "BrunoTraining", "BrunoSweep", "BrunoValidation", "BrunoEnergy", "BrunoExport",
    "BrunoCLI",
]
# C shims and the fine-loop kernels: leaves anyone may use.
ANYWHERE = {"CNgspice", "CSpiceHeap", "CSignals", "BrunoFineLoop", "BrunoFineLoopAVX512"}
# What the training engine must build without (issue #17: no ngspice headers to compile it).
TRAINING_MUST_NOT_REACH = {"CNgspice", "BrunoSpice", "BrunoDevices", "BrunoCalibration"}


def main() -> int:
    run = subprocess.run(["swift", "package", "describe", "--type", "json"], capture_output=True, text=True)
    if run.returncode != 0:
        print("dependency flow: swift package describe failed (a dependency cycle?):\n" + run.stderr, file=sys.stderr)
        return 1
    text = run.stdout
    package = json.loads(text[text.index("{"):])
    deps = {t["name"]: set(t.get("target_dependencies", [])) for t in package["targets"]}
    problems = []
    for name, ds in sorted(deps.items()):
        if name.endswith("Tests") or name in ANYWHERE:
            continue
        if name not in FLOW:
            problems.append(f"{name} has no place in the flow (add it to FLOW in {sys.argv[0]})")
            continue
        for d in sorted(ds):
            if d in ANYWHERE:
                continue
            if d not in FLOW:
                problems.append(f"{name} depends on {d}, which has no place in the flow")
            elif FLOW.index(d) >= FLOW.index(name):
                problems.append(f"{name} depends on {d}, which comes later in the flow")

    def closure(name, seen):
        for d in deps.get(name, ()):
            if d not in seen:
                seen.add(d)
                closure(d, seen)
        return seen

    training = closure("BrunoTraining", set())
    for bad in sorted(training & TRAINING_MUST_NOT_REACH):
        problems.append(f"BrunoTraining's dependency closure contains {bad}")
    for p in problems:
        print(f"dependency flow: {p}", file=sys.stderr)
    if not problems:
        print("dependency flow: one way; BrunoTraining builds on " + ", ".join(sorted(training)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

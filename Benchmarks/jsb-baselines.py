#!/usr/bin/env python3
"""Non-spiking baselines for the JSB next-step task, on Bruno's metric (issue 13).

Metric as `bruno train --config experiments/jsb.toml` reports it (Loss.binaryCrossEntropy): the roll at t predicts
the roll at t + 1 on 54 keys (MIDI 43-96), negative log-likelihood in nats per time step summed over keys, the
first `warmup` = 5 steps of every chorale not counted, on the file's `valid` split (Bruno's held-out figure).
Models are fitted on the whole `train` split (Bruno fits on 90 % of it and selects on the rest).
Usage: python3 Benchmarks/jsb-baselines.py ../shared/data/jsb/jsb-chorales-quarter-train-valid.json
"""
import json
import sys

import numpy as np

LOW, KEYS, WARMUP = 43, 54, 5


def rolls(split):
    out = []
    for chorale in split:
        r = np.zeros((len(chorale), KEYS))
        for t, chord in enumerate(chorale):
            for m in chord:
                r[t, int(m) - LOW] = 1
        out.append(r)
    return out


def pairs(rs, history):
    """Inputs (the last `history` chords, zero before the start) and targets, counted steps only."""
    xs, ys = [], []
    for r in rs:
        steps = len(r) - 1
        for t in range(WARMUP, steps):
            x = [r[t - k] if t - k >= 0 else np.zeros(KEYS) for k in range(history)]
            xs.append(np.concatenate(x))
            ys.append(r[t + 1])
    return np.array(xs), np.array(ys)


def nll(p, y):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1).mean())


def logistic(x, y, l2=1e-4, iterations=800, lr=0.1, seed=0):
    """Independent logistic regressions per key, full-batch Adam on the mean BCE + L2."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.01, (x.shape[1], KEYS))
    b = np.log(np.clip(y.mean(0), 1e-4, 1 - 1e-4) / (1 - np.clip(y.mean(0), 1e-4, 1 - 1e-4)))
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for i in range(1, iterations + 1):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) / len(x)
        grads = [x.T @ g + l2 * w, g.sum(0)]
        for k, (param, grad) in enumerate(zip([w, b], grads)):
            m[k] = 0.9 * m[k] + 0.1 * grad
            v[k] = 0.999 * v[k] + 0.001 * grad * grad
            param -= lr * (m[k] / (1 - 0.9 ** i)) / (np.sqrt(v[k] / (1 - 0.999 ** i)) + 1e-8)
    return lambda xx: 1 / (1 + np.exp(-(xx @ w + b)))


def main():
    data = json.load(open(sys.argv[1]))
    train, valid = rolls(data["train"]), rolls(data["valid"])
    rows = []
    x1, y1 = pairs(train, 1)
    vx1, vy1 = pairs(valid, 1)
    rows.append(("no input (zero logits, p = 0.5)", KEYS * np.log(2)))
    rows.append(("per-key marginal", nll(np.tile(y1.mean(0), (len(vy1), 1)), vy1)))
    rows.append(("logistic regression on the current chord", nll(logistic(x1, y1)(vx1), vy1)))
    x4, y4 = pairs(train, 4)
    vx4, vy4 = pairs(valid, 4)
    rows.append(("logistic regression on the last 4 chords", nll(logistic(x4, y4)(vx4), vy4)))
    print(f"valid split: {len(valid)} chorales, {len(vy1)} counted steps")
    print("| model | valid NLL [nats/step] |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()

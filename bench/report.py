"""Prints bench/run.sh's results as Markdown: the CPU, then per phase the median and spread over repetitions, the
ratio to PyTorch at its best (channels-last, bfloat16 where the CPU has it) and to PyTorch the seed's way, peak RSS,
achieved GFLOP/s against the CPU's estimated fp32 peak, and the validation AUC of both sides."""
import argparse
import glob
import json
import os
import re
import statistics
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_baseline import ResNet  # noqa: E402  (the same block layout as Veracity's resnet18)


def forward_gflop(size):
    """Multiply-adds of every convolution and linear layer for one image, counted with hooks, times 2."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kernel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            macs.append(output.numel() * kernel)
        else:
            macs.append(output.numel() * module.in_features)

    model = ResNet().eval()
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return 2 * sum(macs) / 1e9


def cpu_peak():
    """Cores × clock × fp32 FLOPs per cycle (two FMA units × SIMD lanes × 2), from lscpu/cpuinfo."""
    info = open("/proc/cpuinfo").read()
    cores = os.cpu_count()
    mhz = float(re.search(r"cpu MHz\s*:\s*([\d.]+)", info).group(1))
    flags = set(re.search(r"flags\s*:\s*(.*)", info).group(1).split())
    lanes, simd = (16, "AVX-512") if "avx512f" in flags else (8, "AVX2/FMA") if "fma" in flags else (4, "SSE")
    per_cycle = 2 * lanes * 2
    return cores * mhz / 1000 * per_cycle, f"{cores} cores × {mhz / 1000:.2f} GHz × {per_cycle} FLOP/cycle ({simd}, 2 FMA units)"


def timings(work, name):
    """(wall seconds, peak MiB) of every repetition of one timed phase, in repetition order."""
    runs = []
    for path in sorted(glob.glob(f"{work}/{name}.*.time"), key=lambda p: int(p.split(".")[-2])):
        wall, rss = open(path).read().split()[-2:]
        runs.append((float(wall), int(rss) / 1024))
    return runs


def spread(values, fmt="{:.2f}"):
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def figures(path, pattern):
    """{size: images/s} from a bench output file."""
    if not os.path.exists(path):
        return {}
    return {int(m.group(1)): float(m.group(2)) for m in re.finditer(pattern, open(path).read())}


def peer_mode(work):
    """What --best meant on this CPU, as the best peer's first phase printed it."""
    for path in sorted(glob.glob(f"{work}/peer-best-*.log")):
        lines = open(path).read().strip().splitlines()
        if lines and lines[-1].startswith("{"):
            return json.loads(lines[-1]).get("mode", "unknown")
    return "not run"


def model_against_peer(work, size):
    """The model alone on random batches, Veracity at --precision auto against both peers (bench/run.sh writes these)."""
    auto, peers = f"{work}/model-auto.txt", {}
    for name in ("peer", "peer-best"):
        path = f"{work}/{name}-model.json"
        if os.path.exists(path):
            peers[name] = json.loads(open(path).read().strip().splitlines()[-1])
    if not os.path.exists(auto) or len(peers) < 2:
        return
    precision = re.search(r"ImageNet weights; (\w+)", open(auto).read()).group(1)
    rows = [("training (forward, backward, Adam)", figures(auto, r"train (\d+)px[^:]*: ([\d.]+) images/s").get(size), "train_images_per_s"),
            ("inference", figures(auto, r"inference (\d+)px[^:]*: ([\d.]+) images/s").get(size), "inference_images_per_s")]
    best, seed = peers["peer-best"], peers["peer"]
    print(f"\nThe model alone, {size} px, batch {best['batch']}, random batches (no data loading, no start-up): Veracity in {precision}, "
          f"PyTorch at its best in {best['mode']}.\n")
    print("| | Veracity img/s | PyTorch best img/s | **Veracity ÷ PyTorch best** | PyTorch seed-way img/s | Veracity ÷ seed-way |")
    print("|---|---|---|---|---|---|")
    for label, veracity, key in rows:
        if veracity:
            print(f"| {label} | {veracity:.1f} | {best[key]:.1f} | **{veracity / best[key]:.2f}** | {seed[key]:.1f} | {veracity / seed[key]:.2f} |")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("work")
    for name in ["repeat", "train", "epochs", "val", "test", "tta4", "size", "source-size", "prepare"]:
        a.add_argument("--" + name, type=int)
    a.add_argument("--rss-counts", default="")
    args = a.parse_args()
    work = args.work
    gflop = forward_gflop(args.size)
    peak, peak_text = cpu_peak()

    # (phase, images counted for img/s, forward passes' worth of GFLOP)
    phases = [
        ("train", args.train * args.epochs, gflop * (3 * args.train * args.epochs + args.val * args.epochs)),
        ("evaluate", args.val, gflop * args.val),
        ("predict-tta1", args.test, gflop * args.test),
        ("predict-tta4", args.tta4 * 4, gflop * args.tta4 * 4),
    ]
    cpu = f"{work}/cpu.txt"
    if os.path.exists(cpu):
        print("CPU: " + "; ".join(" ".join(line.split()) for line in open(cpu) if line.strip()) + "\n")
    best_mode = peer_mode(work)
    print(f"Source images {args.source_size}×{args.source_size} JPEG, trained and scored at {args.size} px; "
          f"{args.repeat} repetition(s), sides alternating. ResNet (blocks [2,2,2,3]) forward: {gflop:.2f} GFLOP/image; "
          f"CPU fp32 peak estimate {peak:.0f} GFLOP/s = {peak_text}.\n")
    print(f"PyTorch at its best here: {best_mode}.\n")
    print("| phase | images | Veracity img/s | PyTorch best img/s | **Veracity/PyTorch best** | PyTorch seed-way img/s "
          "| Veracity/PyTorch seed-way | Veracity s | PyTorch best s | PyTorch seed-way s | Veracity peak MiB | PyTorch best peak MiB "
          "| Veracity GFLOP/s (% of fp32 peak) | PyTorch best GFLOP/s (% of fp32 peak) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    walls = {}
    for phase, images, work_gflop in phases:
        v, p, b = timings(work, f"veracity-{phase}"), timings(work, f"peer-{phase}"), timings(work, f"peer-best-{phase}")
        if not v or not p or not b:
            continue
        vw, pw, bw = [w for w, _ in v], [w for w, _ in p], [w for w, _ in b]
        walls[phase] = (vw, pw, bw)
        vg, bg = work_gflop / statistics.median(vw), work_gflop / statistics.median(bw)
        print(f"| {phase} | {images} | {spread([images / w for w in vw])} | {spread([images / w for w in bw])} | "
              f"**{spread([y / x for x, y in zip(vw, bw)])}** | {spread([images / w for w in pw])} | {spread([y / x for x, y in zip(vw, pw)])} | "
              f"{spread(vw, '{:.1f}')} | {spread(bw, '{:.1f}')} | {spread(pw, '{:.1f}')} | {max(r for _, r in v):.0f} | "
              f"{max(r for _, r in b):.0f} | {vg:.1f} ({100 * vg / peak:.0f}%) | {bg:.1f} ({100 * bg / peak:.0f}%) |")

    reference = [p for p in ("train", "evaluate", "predict-tta1") if p in walls]
    if len(reference) == 3:
        v_total, p_total, b_total = ([sum(t) for t in zip(*(walls[p][k] for p in reference))] for k in range(3))
        print(f"\nEnd to end (train + evaluate + predict TTA 1): Veracity {spread(v_total, '{:.0f}')} s, PyTorch at its best "
              f"{spread(b_total, '{:.0f}')} s, the seed's way {spread(p_total, '{:.0f}')} s; Veracity/PyTorch wall "
              f"{spread([a / b for a, b in zip(v_total, b_total)])} against the best, {spread([a / b for a, b in zip(v_total, p_total)])} the seed's way.")

    for rep in range(1, args.repeat + 1):
        metrics = f"{work}/veracity-run-{rep}/metrics.jsonl"
        peer_log = f"{work}/peer-train.{rep}.log"
        if os.path.exists(metrics) and os.path.exists(peer_log):
            v_auc = [round(json.loads(line)["ValAuc"] or 0, 4) for line in open(metrics)]
            p_auc = [round(x or 0, 4) for x in json.loads(open(peer_log).read().strip().splitlines()[-1])["val_auc"]]
            print(f"\nValidation AUC per epoch, repetition {rep}: Veracity {v_auc}, PyTorch {p_auc}.", end="")
    print()

    if args.prepare:
        prep, trained = timings(work, "veracity-prepare"), timings(work, "veracity-train-prepared")
        if prep and trained and "train" in walls:
            print(f"\nPre-scaled copy: `prepare` {spread([w for w, _ in prep], '{:.1f}')} s; training on it "
                  f"{spread([w for w, _ in trained], '{:.1f}')} s against {spread(walls['train'][0], '{:.1f}')} s on the originals.")

    rss = [(n, timings(work, f"veracity-predict-rss-{n}")) for n in args.rss_counts.split(",") if n]
    if all(runs for _, runs in rss):
        print("\nPeak RSS of `predict` (64-px checkpoint, TTA 1) by number of images: "
              + ", ".join(f"{int(n):,} images {runs[0][1]:.0f} MiB in {runs[0][0]:.0f} s" for n, runs in rss) + ".")

    model_against_peer(work, args.size)

    model = figures(f"{work}/model-only.txt", r"train (\d+)px[^:]*: ([\d.]+) images/s")
    inference = figures(f"{work}/model-only.txt", r"inference (\d+)px[^:]*: ([\d.]+) images/s")
    pipeline = figures(f"{work}/pipeline-only.txt", r"pipeline (\d+)px: ([\d.]+) images/s")
    if model and pipeline:
        print("\n| size | pipeline alone img/s | model alone, training img/s | pipeline ÷ training | model alone, inference img/s | pipeline ÷ inference |")
        print("|---|---|---|---|---|---|")
        for s in sorted(pipeline):
            if s in model and s in inference:
                print(f"| {s} | {pipeline[s]:.0f} | {model[s]:.1f} | {pipeline[s] / model[s]:.0f}× | {inference[s]:.1f} | {pipeline[s] / inference[s]:.1f}× |")
    print("\nimg/s = images / whole-process wall seconds (start-up, weight loading and checkpoints included; training also "
          "validates every epoch). Speed ratio = PyTorch wall / Veracity wall, pair by pair; figures are median (min–max).")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The reference baseline in PyTorch: the speed and accuracy peer for Veracity's benchmarks.

Same recipe as the reference notebook (Resize((S, S)), random flips, cross-entropy, Adam lr 0.005, StepLR(4, 0.85),
batch 40, TTA prediction, img_name,y_pred output) on the same ResNet layout Veracity trains (CNTK ResNet-18, blocks
[2,2,2,3]) starting from the same ImageNet weights (dumped by `Veracity.Bench torch-weights`), with the normalisation
those weights expect (BGR 0-255 minus channel means). One phase per process, so each is timed as a whole process:
  train:   --phase train --train-labels F --train-images D --val-labels F --val-images D --weights DIR --model-out M
  predict: --phase predict --model M --images D [--labels F] --tta N --out submit.csv
  model:   --phase model --weights DIR [--image-size S] [--batch-size B] [--seconds T]: the model alone on random
           batches, training steps (forward, backward, Adam) then inference, as `Veracity.Bench model` times them
--best runs PyTorch at its best instead of the seed's way: channels-last weights and batches, and bfloat16 autocast
where the CPU has AVX512-BF16 or AMX (oneDNN's bfloat16 kernels; elsewhere autocast would emulate them, slower).
Prints one JSON line with the phase's own figures. Run with Debian's python3-torch (/usr/bin/python3).
"""
import argparse, contextlib, csv, json, os, re, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

BGR_MEANS = torch.tensor([103.06, 115.90, 123.15]).view(3, 1, 1)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample_conv = self.downsample_bn = None
        if stride != 1 or cin != cout:
            self.downsample_conv = nn.Conv2d(cin, cout, 1, stride, bias=False)
            self.downsample_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample_conv is None else self.downsample_bn(self.downsample_conv(x))
        return F.relu(y + shortcut)


class ResNet(nn.Module):
    def __init__(self, blocks=(2, 2, 2, 3), classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths, cin, stages = (64, 128, 256, 512), 64, []
        for i, (n, cout) in enumerate(zip(blocks, widths)):
            stages.append(nn.Sequential(*[BasicBlock(cin if b == 0 else cout, cout, (1 if i == 0 else 2) if b == 0 else 1)
                                          for b in range(n)]))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def load_dump(model, folder):
    index = json.load(open(os.path.join(folder, "index.json")))
    blob = np.fromfile(os.path.join(folder, "tensors.bin"), dtype="<f4")
    state = {name: torch.from_numpy(blob[e["offset"]:e["offset"] + int(np.prod(e["shape"]))].reshape(e["shape"]).copy())
             for name, e in index.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"weights do not fit: missing {missing}, unexpected {unexpected}")


def read_rows(path, limit=None):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [(r["img_name"].strip(), int(r.get("target", "-1") or -1)) for r in csv.DictReader(f)]
    return rows[:limit] if limit else rows


class Images(torch.utils.data.Dataset):
    def __init__(self, folder, rows, transform):
        self.folder, self.rows, self.transform = folder, rows, transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        name, target = self.rows[i]
        return self.transform(Image.open(os.path.join(self.folder, name)).convert("RGB")), target


def transforms(size, train):
    steps = [T.Resize((size, size))] + ([T.RandomHorizontalFlip(), T.RandomVerticalFlip()] if train else [])
    return T.Compose(steps + [T.ToTensor(), T.Lambda(lambda x: x[[2, 1, 0]] * 255 - BGR_MEANS)])


def auc(scores, targets):
    scores, targets = np.asarray(scores), np.asarray(targets)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    fake, real = targets.sum(), len(targets) - targets.sum()
    return float((ranks[targets == 1].sum() - fake * (fake + 1) / 2) / (fake * real)) if fake and real else None


def has_bfloat16():
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX), from /proc/cpuinfo."""
    flags = set(re.search(r"flags\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1).split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


class Mode:
    """The seed's way (float32, NCHW), or at its best (channels-last, bfloat16 autocast where the CPU has it)."""

    def __init__(self, best):
        self.channels_last, self.bfloat16 = best, best and has_bfloat16()
        self.name = "seed" if not best else "channels-last + bfloat16" if self.bfloat16 else "channels-last (no bfloat16 on this CPU)"

    def model(self, model):
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def batch(self, x):
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.bfloat16 else contextlib.nullcontext()


def predict(model, loader, tta, mode):
    model.eval()
    total = None
    with torch.no_grad():
        for p in range(tta):
            views = []
            for x, _ in loader:
                x = mode.batch([x, x.flip(3), x.flip(2), x.flip(2, 3)][p % 4])
                with mode.autocast():
                    logits = model(x)
                views.append(F.softmax(logits.float(), 1)[:, 1])
            v = torch.cat(views)
            total = v if total is None else total + v
    return (total / tta).tolist()


def model_only(model, mode, size, batch, seconds):
    """Images/s of training steps and of inference on random batches, each timed for `seconds` after two warm-up steps."""
    x, y = mode.batch(torch.randn(batch, 3, size, size)), torch.randint(0, 2, (batch,))
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)

    def train_step():
        with mode.autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    def infer_step():
        with torch.no_grad(), mode.autocast():
            model(x)

    def rate(step):
        for _ in range(2):
            step()
        start, images = time.time(), 0
        while time.time() - start < seconds:
            step()
            images += batch
        return images / (time.time() - start)

    model.train()
    train = rate(train_step)
    model.eval()
    return {"phase": "model", "mode": mode.name, "image_size": size, "batch": batch,
            "train_images_per_s": train, "inference_images_per_s": rate(infer_step)}


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--phase", choices=["train", "predict", "model"], required=True)
    for name in ["train-labels", "train-images", "val-labels", "val-images", "weights", "model-out", "model", "images", "labels", "out"]:
        a.add_argument("--" + name)
    a.add_argument("--image-size", type=int, default=256)
    a.add_argument("--epochs", type=int, default=2)
    a.add_argument("--batch-size", type=int, default=40)
    a.add_argument("--lr", type=float, default=0.005)
    a.add_argument("--limit", type=int)
    a.add_argument("--tta", type=int, default=1)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--workers", type=int, default=2)
    a.add_argument("--log-every", type=int, default=100)
    a.add_argument("--seconds", type=float, default=20, help="model phase: how long each of its two timings runs")
    a.add_argument("--best", action="store_true", help="channels-last, and bfloat16 autocast where the CPU has it")
    args = a.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = ResNet()
    mode = Mode(args.best)

    if args.phase == "model":
        load_dump(model, args.weights)
        print(json.dumps(model_only(mode.model(model), mode, args.image_size, args.batch_size, args.seconds)))
    elif args.phase == "train":
        load_dump(model, args.weights)
        model = mode.model(model)
        train_rows, val_rows = read_rows(args.train_labels, args.limit), read_rows(args.val_labels, args.limit)
        train = torch.utils.data.DataLoader(Images(args.train_images, train_rows, transforms(args.image_size, True)),
                                            batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
        val = torch.utils.data.DataLoader(Images(args.val_images, val_rows, transforms(args.image_size, False)),
                                          batch_size=args.batch_size, num_workers=args.workers)
        optimizer = torch.optim.Adam(model.parameters(), args.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.85)
        train_seconds, val_seconds, best, aucs = 0.0, 0.0, None, []
        for epoch in range(args.epochs):
            print(f"Epoch: {epoch}", flush=True)
            model.train()
            start = time.time()
            for i, (x, y) in enumerate(train):
                with mode.autocast():
                    logits = model(mode.batch(x))
                loss = F.cross_entropy(logits.float(), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if i % args.log_every == 0:
                    print(f"[{i}/{len(train)}] loss {loss.item():.4e}", flush=True)
            scheduler.step()
            train_seconds += time.time() - start
            start = time.time()
            val_auc = auc(predict(model, val, 1, mode), [t for _, t in val_rows])
            val_seconds += time.time() - start
            aucs.append(val_auc)
            if best is None or (val_auc or 0) > best:
                best = val_auc or 0
                torch.save(model.state_dict(), args.model_out)
        print(json.dumps({"phase": "train", "mode": mode.name, "train_images_per_s": len(train_rows) * args.epochs / train_seconds,
                          "val_images_per_s": len(val_rows) * args.epochs / val_seconds, "val_auc": aucs}))
    else:
        model.load_state_dict(torch.load(args.model))
        model = mode.model(model)
        rows = read_rows(args.labels) if args.labels else [(n, -1) for n in sorted(os.listdir(args.images))]
        loader = torch.utils.data.DataLoader(Images(args.images, rows, transforms(args.image_size, False)),
                                             batch_size=args.batch_size, num_workers=args.workers)
        start = time.time()
        scores = predict(model, loader, args.tta, mode)
        seconds = time.time() - start
        with open(args.out, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["img_name", "y_pred"])
            w.writerows((n, f"{s:.6f}") for (n, _), s in zip(rows, scores))
        result = {"phase": "predict", "mode": mode.name, "tta": args.tta, "images_per_s": len(rows) * args.tta / seconds}
        if args.labels:
            result["auc"] = auc(scores, [t for _, t in rows])
        print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Train the CTC phone recogniser (`PhoneHead`) on a corpus split's canonical phones.

    python -m lmm_apa.align.train_head --data ../shared/speechocean762 --split train-minus-dev25 \\
        --out src/lmm_apa/weights/aligner

Encoder frames are computed once per recording and cached (float16, ~0.25 MB per 5 s recording).
Targets are the canonical phones (stress dropped). Learners' mispronounced phones are kept as their
canonical label: the head then learns what each phone sounds like from these speakers, and a badly
said phone shows as a low share of its segment's phone mass rather than as a confident substitute.
On 2 CPU cores, an epoch of 2000 recordings takes ~33 s (conv head); encoding the frames of the
2500 train recordings once takes ~10 minutes. Five epochs (one-cycle schedule, the epoch with the
lowest dev CTC kept) beat fifteen: the head overfits after the fourth
(bench/results/phone_head_train_log.jsonl, phone_head_15_epochs_log.jsonl).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import numpy as np
import torch

from lmm_apa.align.head import HeadConfig, PhoneHead
from lmm_apa.align.phoneset import phone_id
from lmm_apa.data.records import Utterance


def frame_cache(
    utts: list[Utterance],
    folder: str | Path,
    encoder=None,
    augment: Callable[[np.ndarray, str], np.ndarray] | None = None,
) -> dict[str, Path]:
    """utt_id -> .npy file of its 50 Hz encoder frames (float16), encoding what is not cached yet.
    ``augment`` (e.g. `lmm_apa.data.augment.RoomAugmenter`): frames of the recording as augmented
    (keyed by its utt_id) and then cut to its speech as the scorer cuts it, in its own ``folder``."""
    from lmm_apa.data.audio import load_audio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for u in utts:
        path = folder / f"{u.utt_id}.npy"
        if not path.is_file():
            if encoder is None:
                from lmm_apa.models.parts import whisper_ct2_dir
                from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

                encoder = CT2WhisperEncoder(whisper_ct2_dir())
            wave = load_audio(u.audio_path)
            if augment is not None:
                from lmm_apa.data.augment import as_scored

                wave = as_scored(augment(wave, u.utt_id))
            frames = encoder.frames(wave).astype(np.float16)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, frames)
            tmp.rename(path)
        out[u.utt_id] = path
    return out


def targets(utt: Utterance) -> list[int]:
    return [phone_id(p.symbol) for p in utt.phones]


def _batches(items: list, batch_size: int, rng: random.Random) -> list[list]:
    # Length-sorted buckets, shuffled: little padding, different batches every epoch.
    items = sorted(items, key=lambda x: x[0].shape[0] + rng.random() * 20)
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    rng.shuffle(batches)
    return batches


def _collate(batch):
    lengths = torch.tensor([f.shape[0] for f, _ in batch])
    frames = torch.zeros(len(batch), int(lengths.max()), batch[0][0].shape[1])
    for i, (f, _) in enumerate(batch):
        frames[i, : f.shape[0]] = torch.as_tensor(f, dtype=torch.float32)
    labels = torch.cat([torch.tensor(t) for _, t in batch])
    target_lengths = torch.tensor([len(t) for _, t in batch])
    return frames, lengths, labels, target_lengths


def _time_mask(frames: torch.Tensor, rng: random.Random, n: int = 2, width: int = 8) -> torch.Tensor:
    """SpecAugment-style masking on the encoder frames: a few short spans zeroed per recording."""
    frames = frames.clone()
    for i in range(frames.shape[0]):
        for _ in range(n):
            start = rng.randrange(max(1, frames.shape[1] - width))
            frames[i, start : start + rng.randrange(1, width)] = 0.0
    return frames


def greedy_per(head: PhoneHead, data: list) -> float:
    """Phone error rate of greedy CTC decoding against the canonical phones (a sanity figure only:
    learners' real phones differ from the canonical ones in places)."""
    errors = total = 0
    for frames, target in data:
        logp, _ = head.posteriors(frames)
        best = logp.argmax(axis=1)
        hyp = [int(p) for i, p in enumerate(best) if p != 0 and (i == 0 or best[i - 1] != p)]
        errors += edit_distance(hyp, target)
        total += len(target)
    return errors / max(total, 1)


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance (substitutions, insertions, deletions): phone errors here, word errors
    of a transcript in the tests."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


@torch.no_grad()
def dev_ctc(head: PhoneHead, data: list, batch_size: int = 32) -> float:
    """Mean CTC loss over ``data`` in eval mode."""
    head.eval()
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    losses = []
    for i in range(0, len(data), batch_size):
        frames, lengths, labels, target_lengths = _collate(data[i : i + batch_size])
        logp, _ = head(frames, lengths)
        losses.append(ctc(logp.transpose(0, 1), labels, lengths, target_lengths).item())
    return float(np.mean(losses))


def train_head(
    train: list,
    dev: list,
    out_dir: str | Path,
    epochs: int = 5,
    batch_size: int = 16,
    lr: float = 2e-3,
    seed: int = 0,
    cfg: HeadConfig = HeadConfig(),
    log=print,
) -> PhoneHead:
    """Train on (frames, targets) pairs; keep the epoch with the lowest dev CTC loss."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    head = PhoneHead(cfg)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * ((len(train) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    best = float("inf")
    for epoch in range(epochs):
        head.train()
        t0, losses = time.time(), []
        for batch in _batches(train, batch_size, rng):
            frames, lengths, labels, target_lengths = _collate(batch)
            logp, _ = head(_time_mask(frames, rng), lengths)
            loss = ctc(logp.transpose(0, 1), labels, lengths, target_lengths)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
        head.eval()
        dev_loss = dev_ctc(head, dev)
        log(
            json.dumps(
                {
                    "epoch": epoch + 1,
                    "train_ctc": round(float(np.mean(losses)), 4),
                    "dev_ctc": round(dev_loss, 4),
                    "seconds": round(time.time() - t0, 1),
                }
            )
        )
        if dev_loss < best:
            best = dev_loss
            head.save(out_dir, epoch=epoch + 1, dev_ctc=round(dev_loss, 4))
    return PhoneHead.load(out_dir)


def load_pairs(utts: list[Utterance], cache: dict[str, Path]) -> list:
    return [(np.load(cache[u.utt_id]), targets(u)) for u in utts]


def main(argv: list[str] | None = None) -> None:
    from lmm_apa.data.splits import load_split

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="train-minus-dev25")
    ap.add_argument("--dev-split", default="dev25")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", default="runs/align/frames")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    train_utts, dev_utts = load_split(args.data, args.split), load_split(args.data, args.dev_split)
    cache = frame_cache(train_utts + dev_utts, args.cache)
    dev_pairs = load_pairs(dev_utts, cache)
    head = train_head(
        load_pairs(train_utts, cache),
        dev_pairs,
        args.out,
        epochs=args.epochs,
        lr=args.lr,
        seed=args.seed,
    )
    info_file = Path(args.out) / "phone_head.json"
    info = json.loads(info_file.read_text())
    info.update(
        train_split=args.split,
        dev_split=args.dev_split,
        seed=args.seed,
        epochs_run=args.epochs,
        dev_per_greedy=round(greedy_per(head, dev_pairs), 4),
    )
    info_file.write_text(json.dumps(info, indent=2))
    print(json.dumps(info))


if __name__ == "__main__":
    main()

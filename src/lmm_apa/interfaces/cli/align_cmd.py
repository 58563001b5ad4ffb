"""`lmm-apa align train-head|fit-readout|tune-encoder`: train the shipped aligner's phone recogniser,
fit its evidence readout (`lmm_apa.align.fit`) and teach its Whisper-base encoder to hear through
rooms (`lmm_apa.align.robust_encoder`), as the shipped weights under `lmm_apa/weights/aligner` were.

    lmm-apa align train-head --data ../shared/speechocean762 --out runs/align/head_c5 --epochs 5
    lmm-apa align fit-readout --data ../shared/speechocean762 --head runs/align/head_c5 \\
        --out runs/align/head_c5_insample --report bench/results/evidence_readout
    lmm-apa align tune-encoder --data ../shared/speechocean762 --out runs/align/encoder_room
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import TRAIN_SPLIT_HELP, TrainSplit

align_app = typer.Typer(
    help="Train the aligner (phone recogniser) and fit its evidence readout.", no_args_is_help=True
)
app.add_typer(align_app, name="align")

Data = Annotated[Path, typer.Option(help="Speechocean762 folder (Kaldi layout or local HF copy).")]
Cache = Annotated[
    Path,
    typer.Option(
        help="Folder of cached Whisper-base encoder frames (float16, ~0.25 MB a recording; shared)."
    ),
]
Limit = Annotated[
    int | None,
    typer.Option(min=1, help="Only the first N recordings (by utt_id) of each split: a smoke run."),
]
Seed = Annotated[int, typer.Option(help="Seed of the training (batches, masking) or of the fit.")]
AugmentCopies = Annotated[
    int,
    typer.Option(
        min=0,
        help="Augmented copies of each training recording (noise, babble, reverb, telephone band, "
        "MP3/Opus, gain, padding; needs the `augment` extra), beside the clean one.",
    ),
]
AugmentShare = Annotated[
    float,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Share of the training recordings (the first, by utt_id) that get the augmented copies.",
    ),
]
# The shipped aligner's splits: trained on train-minus-dev25, chosen and measured on dev25.
FitSplit = Annotated[TrainSplit, typer.Option(help=f"Split to train or fit on: {TRAIN_SPLIT_HELP}")]
DevSplit = Annotated[TrainSplit, typer.Option(help="Held-out split to choose or measure on (same choices).")]


def _positive(value: float) -> float:
    if value <= 0:
        raise typer.BadParameter(f"{value:g} is not above 0")
    return value


@align_app.command("train-head")
def train_head_cmd(
    data: Data,
    out: Annotated[Path, typer.Option(help="Folder to write the phone head to (phone_head.*).")],
    split: FitSplit = TrainSplit.train_minus_dev25,
    dev_split: DevSplit = TrainSplit.dev25,
    cache: Cache = Path("runs/align/frames"),
    epochs: Annotated[
        int, typer.Option(min=1, help="Epochs (one-cycle schedule); 5 beat 15: the head overfits after 4.")
    ] = 5,
    lr: Annotated[float, typer.Option(callback=_positive, help="Peak learning rate.")] = 2e-3,
    seed: Seed = 0,
    limit: Limit = None,
    augment_copies: AugmentCopies = 0,
    augment_share: AugmentShare = 1.0,
) -> None:
    """Train the aligner's phone recogniser (CTC on canonical phones).

    The epoch with the lowest held-out CTC loss is kept. Encoding the frames of the 2500 train
    recordings once takes ~10 minutes on 2 CPU cores, an epoch ~30 s.
    """
    from lmm_apa.align.fit import train_phone_head

    info = train_phone_head(
        data, out, split.value, dev_split.value, cache, epochs=epochs, lr=lr, seed=seed, limit=limit,
        log=typer.echo, augment_copies=augment_copies, augment_share=augment_share,
    )  # fmt: skip
    typer.echo(json.dumps(info))
    typer.echo(f"phone head written to {out}")


@align_app.command("fit-readout")
def fit_readout_cmd(
    data: Data,
    out: Annotated[Path, typer.Option(help="Folder to write the fitted readout to (readout.*).")],
    head: Annotated[
        Path | None,
        typer.Option(help="Phone head folder (`align train-head --out`). Default: the shipped one."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            help="Also write the held-out metrics and listening checks to REPORT.json and REPORT.md."
        ),
    ] = None,
    split: FitSplit = TrainSplit.train_minus_dev25,
    dev_split: DevSplit = TrainSplit.dev25,
    cache: Cache = Path("runs/align/frames"),
    n_listen: Annotated[
        int, typer.Option(min=0, help="Held-out recordings for the listening checks (wrong text, cut).")
    ] = 100,
    n_boot: Annotated[int, typer.Option(min=0, help="Speaker-bootstrap resamples for the CIs.")] = 1000,
    seed: Seed = 0,
    limit: Limit = None,
    augment_copies: AugmentCopies = 0,
    augment_share: AugmentShare = 1.0,
) -> None:
    """Fit the evidence readout (scores from the aligner's evidence alone).

    Fit on the alignments of --split, measured on --dev-split: PCC, SCC and RMSE per aspect, and
    the listening checks (another recording's text; recordings cut in half).
    """
    from lmm_apa.align.fit import fit_readout, listening_checks, readout_report
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.errors import ModelError
    from lmm_apa.eval.report import evaluate_predictions

    head = head or DEFAULT_HEAD
    if not (head / "phone_head.json").is_file():
        raise ModelError(f"no phone head in {head}: train one with `lmm-apa align train-head --out {head}`")
    done = fit_readout(
        data, head, split.value, dev_split.value, cache, seed=seed, limit=limit,
        augment_copies=augment_copies, augment_share=augment_share,
    )  # fmt: skip
    done.save(out, head=head)
    metrics = evaluate_predictions(done.dev, done.predictions, n_boot=n_boot)
    listening = listening_checks(done, n_listen, seed)
    text = readout_report(done, metrics, listening)
    typer.echo(text, nl=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "data": str(data), "head": str(head), "split": split.value, "dev_split": dev_split.value,
            "n_listen": n_listen, "n_boot": n_boot, "seed": seed, "limit": limit,
        }  # fmt: skip
        result = {
            "args": config,
            "align_seconds": done.align_seconds,
            "metrics": metrics,
            "listening": listening,
        }
        report.with_suffix(".json").write_text(json.dumps(result, indent=2))
        report.with_suffix(".md").write_text(text)
    typer.echo(f"readout written to {out}")


@align_app.command("tune-encoder")
def tune_encoder_cmd(
    data: Data,
    out: Annotated[Path, typer.Option(help="Folder to write the encoder adapter to (encoder_lora.*).")],
    split: FitSplit = TrainSplit.train_minus_dev25,
    dev_split: DevSplit = TrainSplit.dev25,
    cache: Cache = Path("runs/align/frames"),
    epochs: Annotated[int, typer.Option(min=1, help="Epochs over --split (~10 min each, 2 idle cores).")] = 3,
    lr: Annotated[float, typer.Option(callback=_positive, help="Peak learning rate (cosine).")] = 1e-3,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank on every linear layer of the encoder.")] = 16,
    clean_share: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of examples heard clean (keeps clean frames as they were)."
        ),
    ] = 0.25,
    kl_weight: Annotated[
        float, typer.Option(min=0.0, help="Weight of the phone head's posteriors (KL) beside the frame MSE.")
    ] = 1.0,
    crop_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of examples cut tight round the speech or stopped early."),
    ] = 0.0,
    telephone_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of rooms band-limited to a telephone's band.")
    ] = 0.2,
    narrowband_share: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share of the band-limited ones through 8 kHz sampling instead."),
    ] = 0.0,
    dev_n: Annotated[int, typer.Option(min=1, help="Held-out recordings the losses are watched on.")] = 100,
    seed: Seed = 0,
    limit: Limit = None,
) -> None:
    """Teach the Whisper-base encoder to give a recording made in a room its clean frames.

    LoRA on the encoder, trained so that each training recording through a simulated room (noise,
    reverberation, telephone band, codecs, gain) gives the frozen encoder's frames of the clean
    recording, and the clean recording its own. Copy the adapter into the aligner's folder to use
    it: no part above the encoder needs retraining. Resumes from OUT/ckpt.
    """
    from lmm_apa.align.robust_encoder import train_robust_encoder

    info = train_robust_encoder(
        data, out, cache, split.value, dev_split.value, epochs=epochs, lr=lr, rank=rank,
        clean_share=clean_share, kl_weight=kl_weight, crop_share=crop_share, telephone_p=telephone_share,
        narrowband_share=narrowband_share, dev_n=dev_n, seed=seed, limit=limit, log=typer.echo,
    )  # fmt: skip
    typer.echo(json.dumps(info["history"][-1]))
    typer.echo(f"encoder adapter written to {out}")

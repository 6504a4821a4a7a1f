"""Fitting and measuring the track classifiers (plain torch; ultralytics in :mod:`.yolo`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from detector.classifier import (
    DEFAULT_THRESHOLD,
    FEATURE_VERSION,
    FORMAT,
    TorchClassifier,
    build_tracknet,
)
from detector.track_features import appearance, motion_features
from pipelines.train.collect import Candidate

log = logging.getLogger(__name__)

# thresholds at which the held-out keep and reject rates are reported, and the keep rates
# for which the threshold that reaches them is found
OPERATING_THRESHOLDS = (0.9, 0.7, 0.5, 0.3, 0.1, 0.03, 0.01)
KEEP_TARGETS = (0.95, 0.98)
# the weights' own operating threshold is chosen on validation tracks that pass the
# default physics: the highest that keeps VALIDATION_KEEP of the object tracks, unless
# that rejects less than VALIDATION_REJECT of the distractor tracks: then the lowest that
# does (false alarms are what make people switch such a system off)
VALIDATION_KEEP = 0.98
VALIDATION_REJECT = 0.90
# fewer validation tracks of either class than this: DEFAULT_THRESHOLD stands
MIN_VALIDATION_TRACKS = 50


def seed_everything(seed: int, threads: int = 2) -> None:
    """Seeds torch, fixes the thread count, asks for deterministic kernels."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def arrays(cands: Sequence[Candidate]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """motion (N, N_MOTION), crops (N, C, S, S), labels (N,) float32 (1 = object).

    ``mixed`` candidates are neither class: leave them out first."""
    if any(c.cls is None for c in cands):
        raise ValueError("arrays(): 'mixed' candidates are neither object nor distractor")
    m = np.stack([motion_features(c.track) for c in cands])
    a = np.stack([appearance(c.track) for c in cands])
    y = np.array([c.cls == "object" for c in cands], np.float32)
    return m, a, y


def fit_tracknet(cands: Sequence[Candidate], seed: int, epochs: int = 40,
                 width: int = 32) -> TorchClassifier:
    """Train the two-branch network on labelled candidates (``mixed`` ones left out);
    deterministic for a seed."""
    import torch

    seed_everything(seed)
    m, a, y = arrays([c for c in cands if c.cls is not None])
    mu = m.mean(axis=0)
    sd = m.std(axis=0) + 1e-3
    model = build_tracknet(width)
    with torch.no_grad():
        model.get_buffer("m_mean").copy_(torch.from_numpy(mu.astype(np.float32)))
        model.get_buffer("m_std").copy_(torch.from_numpy(sd.astype(np.float32)))
    mt = torch.from_numpy(m).float()
    at = torch.from_numpy(a).float()
    yt = torch.from_numpy(y)
    pos = float(y.sum())
    neg = float(len(y) - pos)
    # objects count more: losing a real throw costs more than one extra look at a bird
    pos_weight = torch.tensor(2.0 * max(neg, 1.0) / max(pos, 1.0))
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    n = len(y)
    batch = 64
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            if idx.numel() < 2:
                continue
            crops = at[idx]
            if torch.rand(1, generator=gen).item() < 0.5:  # mirror left-right
                crops = torch.flip(crops, dims=[3])
            opt.zero_grad()
            loss = loss_fn(model(mt[idx], crops), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        sched.step()
        log.info("epoch %d/%d: loss %.4f", ep + 1, epochs, total / n)
    model.eval()
    meta = {"format": FORMAT, "kind": "torch", "feature_version": FEATURE_VERSION,
            "width": width, "seed": seed, "epochs": epochs}
    return TorchClassifier(model, meta)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    if not len(pos) or not len(neg):
        return None
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):  # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = 0.5 * (i + j) + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def split_scores(scores: np.ndarray, cands: Sequence[Candidate]) -> tuple[np.ndarray,
                                                                         np.ndarray]:
    """(object scores, distractor scores) of the candidates that pass the default physics;
    ``mixed`` ones are neither class."""
    sel = np.array([c.strict and c.cls is not None for c in cands], bool)
    s = np.asarray(scores, np.float64)[sel] if len(cands) else np.zeros(0)
    y = np.array([c.cls == "object" for c, k in zip(cands, sel, strict=True) if k], bool)
    return s[y], s[~y]


def keep_threshold(obj: np.ndarray, keep: float) -> float:
    """The highest threshold that keeps ``keep`` of the (non-empty) object scores ``obj``:
    at most floor((1 - keep) n) of them fall below it."""
    return float(np.sort(obj)[int(np.floor((1.0 - keep) * len(obj)))])


def measure(scores: np.ndarray, cands: Sequence[Candidate], threshold: float) -> dict[str, Any]:
    """Held-out figures at ``threshold`` over the candidates that pass the default physics.

    The rates and the ROC AUC count ``object`` tracks against distractor tracks; ``mixed``
    tracks (see :mod:`pipelines.train.collect`) show only in ``per_kind``."""
    keep = np.array([c.strict for c in cands], bool)
    s_all = scores[keep]
    strict = [c for c, k in zip(cands, keep, strict=True) if k]
    per_kind: dict[str, dict[str, Any]] = {}
    for kind in sorted({c.label for c in strict}):  # "mixed" too, though it is neither class
        sel = np.array([c.label == kind for c in strict])
        passed = int((s_all[sel] >= threshold).sum())
        per_kind[kind] = {"tracks": int(sel.sum()), "kept": passed,
                          "rejected": int(sel.sum()) - passed}
    clear = np.array([c.cls is not None for c in strict], bool)
    obj, dis = split_scores(scores, cands)
    s = np.concatenate([obj, dis])
    y = np.concatenate([np.ones(len(obj), np.float32), np.zeros(len(dis), np.float32)])
    n_obj, n_dis = len(obj), len(dis)

    def rates(thr: float) -> tuple[float | None, float | None]:
        """(share of object tracks kept, share of distractor tracks rejected) at ``thr``."""
        return (float((obj >= thr).mean()) if n_obj else None,
                float((dis < thr).mean()) if n_dis else None)

    def point(thr: float, **extra: float) -> dict[str, Any]:
        kept, rejected = rates(thr)
        return {**extra, "threshold": thr, "object_keep_rate": kept,
                "distractor_reject_rate": rejected}

    curve = [point(thr) for thr in OPERATING_THRESHOLDS]
    for_keep = []
    if n_obj and n_dis:
        for_keep = [point(keep_threshold(obj, target), keep_target=target)
                    for target in KEEP_TARGETS]
    kept_obj = int((obj >= threshold).sum())
    rej_dis = int((dis < threshold).sum())
    return {
        "threshold": threshold,
        "object_tracks": n_obj,
        "distractor_tracks": n_dis,
        "mixed_tracks": int((~clear).sum()),
        "objects_kept": kept_obj,
        "distractors_rejected": rej_dis,
        "object_keep_rate": kept_obj / n_obj if n_obj else None,
        "distractor_reject_rate": rej_dis / n_dis if n_dis else None,
        "roc_auc": roc_auc(s, y),
        "per_kind": per_kind,
        "curve": curve,
        "for_keep": for_keep,
    }


def choose_threshold(scores: np.ndarray, cands: Sequence[Candidate],
                     keep: float = VALIDATION_KEEP,
                     reject: float = VALIDATION_REJECT) -> dict[str, Any]:
    """The operating threshold for weights, from their scores on validation candidates
    that pass the default physics: the highest that keeps ``keep`` of the object tracks
    when it also rejects ``reject`` of the distractor tracks, else the lowest that
    rejects ``reject`` of them.

    Returns ``{"threshold", "keep_target", "reject_target", "object_tracks",
    "objects_kept", "distractor_tracks", "distractors_rejected", "rule"}``; with fewer
    than ``MIN_VALIDATION_TRACKS`` tracks of either class the threshold is
    ``DEFAULT_THRESHOLD`` and ``rule`` says why."""
    obj, dis = split_scores(scores, cands)
    dis = np.sort(dis)
    if min(len(obj), len(dis)) < MIN_VALIDATION_TRACKS:
        thr = DEFAULT_THRESHOLD
        rule = (f"the default {DEFAULT_THRESHOLD}: only {len(obj)} object and {len(dis)} "
                f"distractor validation tracks, fewer than {MIN_VALIDATION_TRACKS} of each "
                "to choose from")
    else:
        t_keep = keep_threshold(obj, keep)
        # just above the score under which ceil(reject n) distractor tracks lie
        t_rej = float(np.nextafter(dis[int(np.ceil(reject * len(dis))) - 1], np.inf))
        if t_keep >= t_rej:
            thr = t_keep
            rule = (f"the highest that keeps {keep:.0%} of the validation object tracks "
                    f"(it rejects {reject:.0%} of the distractor tracks too)")
        else:
            thr = t_rej
            rule = (f"the lowest that rejects {reject:.0%} of the validation distractor "
                    f"tracks (keeping {keep:.0%} of the object tracks would reject fewer)")
    return {"threshold": thr, "keep_target": keep, "reject_target": reject, "rule": rule,
            "object_tracks": len(obj), "objects_kept": int((obj >= thr).sum()),
            "distractor_tracks": len(dis), "distractors_rejected": int((dis < thr).sum())}

#!/usr/bin/env python3
"""Reference values for the training-toolkit losses and metrics (tests/loss_toolkit.rs,
tests/metric_toolkit.rs).

Run it through the venv `cargo xtask libtorch` installs (torch 2.11.0, numpy, safetensors,
scikit-learn):

    ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_metric_fixtures.py [--out DIR]

It writes two seeded files (float32 inputs unless noted; labels int64; reference values
float64 scalars or float32 per-sample vectors):

- tests/fixtures/metrics.safetensors: inputs and scikit-learn's values (accuracy_score,
  precision_score, recall_score, f1_score binary/macro/micro/weighted, roc_auc_score,
  average_precision_score, top_k_accuracy_score, jaccard_score (mean IoU),
  mean_absolute_error, mean_squared_error, its root, r2_score uniform/variance-weighted),
  plus Keras' AUC (200 thresholds, interpolation) written out in numpy, because Keras' AUC
  is a thresholded approximation:
    * ROC: on scores quantised to the middle of Keras' threshold buckets
      (`binary/p_grid`), Keras' trapezoids equal sklearn's exact roc_auc_score (checked
      here to 1e-12); on continuous scores they differ by up to ~1e-3 (the value is
      stored and printed; the Rust test compares those to the Keras reference).
    * PR: Keras interpolates precision between thresholds (Davis & Goadrich), sklearn's
      average_precision is a step sum; they differ by a few 1e-2 on small samples. The
      Rust test checks the Keras reference tightly and sklearn's AP within the stored
      measured gap + 0.01 (see `auc_pr_gap`).
  Keras' F1Score adds 1e-7 to each denominator; sklearn does not: relative differences
  ~1e-7, inside the tests' tolerance.
- tests/fixtures/losses_toolkit.safetensors: per-sample losses from torch built-ins where
  torch has the loss (kl_div, poisson_nll_loss(log_input=False, full=False, eps=1e-7),
  cosine_similarity, binary_cross_entropy(_with_logits) on smoothed targets, cross_entropy
  with label_smoothing, torchvision's sigmoid_focal_loss formula) and the Keras formula
  written with torch ops otherwise (hinge, squared hinge, categorical hinge, log-cosh in
  float64, MAPE, MSLE, categorical focal); each built-in is asserted equal to the Keras
  formula. Also Keras' reductions of weighted per-sample MSE.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn import metrics as skm

import fixture_io

EPS = 1e-7


def f32(a):
    return torch.tensor(np.asarray(a), dtype=torch.float32)


def f64(x):
    return torch.tensor(float(x), dtype=torch.float64)


def keras_auc(y, p, curve, num_thresholds=200):
    """Keras 3 AUC (multi_label=False, summation_method='interpolation')."""
    thr = np.array(
        [-EPS] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + EPS],
        dtype=np.float32,
    )
    p = np.asarray(p, dtype=np.float32).reshape(-1)
    pos = np.asarray(y).reshape(-1) != 0
    above = p[None, :] > thr[:, None]
    tp = (above & pos).sum(1).astype(np.float64)
    fp = (above & ~pos).sum(1).astype(np.float64)
    fn = pos.sum() - tp
    tn = (~pos).sum() - fp

    def div(a, b):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1, b))

    if curve == "PR":
        dtp = tp[:-1] - tp[1:]
        pp = tp + fp
        dp = pp[:-1] - pp[1:]
        slope = div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * pp[1:]
        ok = (pp[:-1] > 0) & (pp[1:] > 0)
        ratio = np.where(ok, div(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
        return float(np.sum(div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))))
    recall = div(tp, tp + fn)
    fpr = div(fp, fp + tn)
    return float(np.sum((fpr[:-1] - fpr[1:]) * (recall[:-1] + recall[1:]) / 2))


def metric_fixtures():
    rng = np.random.default_rng(20240611)
    out = {}
    # ---- binary
    n = 157
    y = (rng.random(n) < 0.4).astype(np.float32)
    # informative scores: positives shifted up
    p = np.clip(rng.random(n) * 0.8 + 0.2 * y, 0.0, 1.0).astype(np.float32)
    pred = (p > 0.5).astype(int)
    out["binary/y"] = f32(y)
    out["binary/p"] = f32(p)
    out["binary/accuracy"] = f64(skm.accuracy_score(y, pred))
    out["binary/precision"] = f64(skm.precision_score(y, pred))
    out["binary/recall"] = f64(skm.recall_score(y, pred))
    out["binary/f1"] = f64(skm.f1_score(y, pred))
    # precision / recall at threshold 0.3
    pred3 = (p > 0.3).astype(int)
    out["binary/precision_t03"] = f64(skm.precision_score(y, pred3))
    out["binary/recall_t03"] = f64(skm.recall_score(y, pred3))
    roc = skm.roc_auc_score(y, p)
    ap = skm.average_precision_score(y, p)
    k_roc = keras_auc(y, p, "ROC")
    k_pr = keras_auc(y, p, "PR")
    out["binary/roc_auc_sklearn"] = f64(roc)
    out["binary/average_precision_sklearn"] = f64(ap)
    out["binary/auc_roc_keras"] = f64(k_roc)
    out["binary/auc_pr_keras"] = f64(k_pr)
    out["binary/auc_pr_gap"] = f64(abs(k_pr - ap))
    print(f"AUC ROC keras {k_roc:.6f} sklearn {roc:.6f}; PR keras {k_pr:.6f} sklearn AP {ap:.6f}")
    # scores on bucket midpoints: Keras' ROC trapezoids are exact
    bucket = np.minimum(rng.integers(0, 199, n) + 30 * (y > 0), 198)
    grid = ((bucket + 0.5) / 199).astype(np.float32)
    out["binary/p_grid"] = f32(grid)
    roc_grid = skm.roc_auc_score(y, grid)
    assert abs(keras_auc(y, grid, "ROC") - roc_grid) < 1e-12, (keras_auc(y, grid, "ROC"), roc_grid)
    out["binary/roc_auc_grid_sklearn"] = f64(roc_grid)

    # ---- multi-class
    n, c = 143, 5
    labels = rng.integers(0, c, n)
    logits = rng.normal(size=(n, c)) + 1.5 * np.eye(c)[labels]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    probs = probs.astype(np.float32)
    am = probs.argmax(1)
    out["multi/labels"] = torch.tensor(labels, dtype=torch.int64)
    out["multi/one_hot"] = f32(np.eye(c)[labels])
    out["multi/probs"] = f32(probs)
    out["multi/pred_labels"] = torch.tensor(am, dtype=torch.int64)
    out["multi/accuracy"] = f64(skm.accuracy_score(labels, am))
    for k in (2, 3):
        out[f"multi/top{k}"] = f64(skm.top_k_accuracy_score(labels, probs, k=k, labels=list(range(c))))
    for avg in ("macro", "micro", "weighted"):
        out[f"multi/f1_{avg}"] = f64(skm.f1_score(labels, am, average=avg))
    out["multi/mean_iou"] = f64(skm.jaccard_score(labels, am, average="macro"))
    # class-wise precision / recall of a one-hot column at threshold 0.5 (Keras class_id)
    out["multi/precision_class2"] = f64(skm.precision_score(labels == 2, probs[:, 2] > 0.5))
    out["multi/recall_class2"] = f64(skm.recall_score(labels == 2, probs[:, 2] > 0.5))
    # multi-label F1 with threshold 0.4
    ml_y = (rng.random((n, 4)) < 0.35).astype(np.float32)
    ml_p = np.clip(rng.random((n, 4)) * 0.7 + 0.3 * ml_y, 0, 1).astype(np.float32)
    out["multilabel/y"] = f32(ml_y)
    out["multilabel/p"] = f32(ml_p)
    for avg in ("macro", "micro", "weighted"):
        out[f"multilabel/f1_{avg}_t04"] = f64(skm.f1_score(ml_y, ml_p > 0.4, average=avg))

    # ---- regression
    n, d = 131, 3
    ry = (rng.normal(size=(n, d)) * np.array([1.0, 3.0, 0.5]) + np.array([0.0, 2.0, -1.0])).astype(np.float32)
    rp = (ry + rng.normal(size=(n, d)) * np.array([0.5, 1.0, 0.4])).astype(np.float32)
    out["reg/y"] = f32(ry)
    out["reg/p"] = f32(rp)
    out["reg/mae"] = f64(skm.mean_absolute_error(ry, rp))
    out["reg/mse"] = f64(skm.mean_squared_error(ry, rp))
    out["reg/rmse"] = f64(math.sqrt(skm.mean_squared_error(ry, rp)))
    out["reg/r2_uniform"] = f64(skm.r2_score(ry, rp, multioutput="uniform_average"))
    out["reg/r2_variance_weighted"] = f64(skm.r2_score(ry, rp, multioutput="variance_weighted"))
    out["reg/r2_single"] = f64(skm.r2_score(ry[:, 1], rp[:, 1]))
    return out


def close(a, b, what, tol=1e-6):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert torch.allclose(a, b, rtol=tol, atol=tol), f"{what}: {a} vs {b}"


def loss_fixtures():
    torch.manual_seed(1234)
    out = {}
    n, d = 9, 5
    # probability distributions for KLD
    yd = torch.softmax(torch.randn(n, d), -1)
    pd = torch.softmax(torch.randn(n, d), -1)
    kld = (yd * torch.log(yd.clamp(EPS, 1) / pd.clamp(EPS, 1))).sum(-1)
    close(kld, F.kl_div(pd.log(), yd, reduction="none").sum(-1), "kl_div")
    out.update({"kld/y": yd, "kld/p": pd, "kld/loss": kld})

    # Poisson: counts and positive rates
    rate = torch.rand(n, d) * 3 + 0.1
    counts = torch.poisson(rate)
    pois = (rate - counts * torch.log(rate + EPS)).mean(-1)
    close(pois, F.poisson_nll_loss(rate, counts, log_input=False, full=False, eps=EPS, reduction="none").mean(-1), "poisson")
    out.update({"poisson/y": counts, "poisson/p": rate, "poisson/loss": pois})

    # hinge family: 0/1 labels (mapped to -1/1) and -1/1 labels
    y01 = (torch.rand(n, d) < 0.5).float()
    ypm = y01 * 2 - 1
    s = torch.randn(n, d) * 1.5
    hinge = torch.clamp(1 - ypm * s, min=0).mean(-1)
    out.update({"hinge/y01": y01, "hinge/ypm": ypm, "hinge/p": s, "hinge/loss": hinge,
                "squared_hinge/loss": (torch.clamp(1 - ypm * s, min=0) ** 2).mean(-1)})
    # categorical hinge: one-hot targets
    lab = torch.randint(0, d, (n,))
    oh = F.one_hot(lab, d).float()
    pos = (oh * s).sum(-1)
    neg = ((1 - oh) * s).max(-1).values
    out.update({"categorical_hinge/y": oh, "categorical_hinge/p": s,
                "categorical_hinge/loss": torch.clamp(neg - pos + 1, min=0)})

    # log-cosh (float64 reference; includes large errors where cosh overflows f32)
    ry = torch.randn(n, d)
    rp = ry + torch.randn(n, d) * 2
    rp[0, 0] = ry[0, 0] + 120.0
    lc = torch.log(torch.cosh((rp - ry).double())).mean(-1).float()
    out.update({"log_cosh/y": ry, "log_cosh/p": rp, "log_cosh/loss": lc})

    # cosine similarity
    cs = -F.cosine_similarity(ry, rp, dim=-1)
    yn = ry / ry.norm(dim=-1, keepdim=True)
    pn = rp / rp.norm(dim=-1, keepdim=True)
    close(cs, -(yn * pn).sum(-1), "cosine")
    out.update({"cosine/y": ry, "cosine/p": rp, "cosine/loss": cs})

    # MAPE, MSLE
    py = torch.rand(n, d) * 4 + 0.5
    pp = py + torch.randn(n, d) * 0.3
    mape = 100 * ((py - pp).abs() / py.abs().clamp(min=EPS)).mean(-1)
    msle = ((torch.log(pp.clamp(min=EPS) + 1) - torch.log(py.clamp(min=EPS) + 1)) ** 2).mean(-1)
    out.update({"mape/y": py, "mape/p": pp, "mape/loss": mape, "msle/loss": msle})

    # binary CE with label smoothing 0.1 (probabilities and logits)
    ls = 0.1
    logits = torch.randn(n, d) * 2
    probs = torch.sigmoid(logits)
    ys = y01 * (1 - ls) + 0.5 * ls
    bce = F.binary_cross_entropy(probs, ys, reduction="none").mean(-1)
    bce_l = F.binary_cross_entropy_with_logits(logits, ys, reduction="none").mean(-1)
    close(bce, bce_l, "bce probs vs logits", tol=1e-5)
    out.update({"bce_ls/y": y01, "bce_ls/logits": logits, "bce_ls/probs": probs,
                "bce_ls/loss_probs": bce, "bce_ls/loss_logits": bce_l})

    # categorical CE with label smoothing 0.2 (torch's label_smoothing is Keras')
    cl = torch.randn(n, d) * 2
    cce_l = F.cross_entropy(cl, oh, label_smoothing=0.2, reduction="none")
    ysm = oh * 0.8 + 0.2 / d
    close(cce_l, -(ysm * torch.log_softmax(cl, -1)).sum(-1), "cce ls")
    out.update({"cce_ls/y": oh, "cce_ls/logits": cl, "cce_ls/probs": torch.softmax(cl, -1),
                "cce_ls/loss": cce_l})

    # binary focal: torchvision.ops.sigmoid_focal_loss formula (= Keras with
    # apply_class_balancing=True, alpha 0.25, gamma 2)
    def sigmoid_focal(x, t, alpha, gamma):
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        p_t = p * t + (1 - p) * (1 - t)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
        return loss

    bf_bal = sigmoid_focal(logits, y01, 0.25, 2.0).mean(-1)
    bf = sigmoid_focal(logits, y01, -1, 2.0).mean(-1)
    # Keras formula on probabilities with torch ops
    pt = y01 * probs + (1 - y01) * (1 - probs)
    kbf = ((1 - pt) ** 2 * F.binary_cross_entropy(probs, y01, reduction="none")).mean(-1)
    close(kbf, bf, "focal probs vs logits", tol=1e-5)
    # with label smoothing 0.1 (Keras smooths before p_t)
    pts = ys * probs + (1 - ys) * (1 - probs)
    bf_ls = ((1 - pts) ** 2 * F.binary_cross_entropy(probs, ys, reduction="none")).mean(-1)
    out.update({"bfocal/y": y01, "bfocal/logits": logits, "bfocal/probs": probs,
                "bfocal/loss": bf, "bfocal/loss_balanced": bf_bal, "bfocal/loss_ls": bf_ls})

    # categorical focal (Keras formula: alpha 0.25, gamma 2)
    sp = torch.softmax(cl, -1)
    cf = (0.25 * (1 - sp) ** 2 * -oh * torch.log(sp)).sum(-1)
    cf_ls = (0.25 * (1 - sp) ** 2 * -ysm * torch.log(sp)).sum(-1)
    out.update({"cfocal/y": oh, "cfocal/logits": cl, "cfocal/probs": sp,
                "cfocal/loss": cf, "cfocal/loss_ls": cf_ls})

    # reductions of weighted per-sample MSE (Keras reduce_weighted_values)
    w = torch.rand(n) * 2
    w[3] = 0.0
    mse = ((ry - rp) ** 2).mean(-1)
    lw = mse * w
    out.update({"reduce/y": ry, "reduce/p": rp, "reduce/w": w, "reduce/none": lw,
                "reduce/sum": lw.sum().double(), "reduce/sum_over_batch_size": (lw.sum() / n).double(),
                "reduce/mean_with_sample_weight": (lw.sum() / w.sum()).double()})
    return {k: v.contiguous() for k, v in out.items()}


def main():
    out = fixture_io.out_dir()
    for name, tensors in (("metrics.safetensors", metric_fixtures()),
                          ("losses_toolkit.safetensors", loss_fixtures())):
        fixture_io.write(out, name, tensors)


if __name__ == "__main__":
    main()

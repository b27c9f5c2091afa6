#!/usr/bin/env python3
"""PyTorch reference fixtures for stratanet's recurrent, embedding and attention layers
(tests/rnn_layers.rs, tests/attention_layers.rs).

Run it through the venv `cargo xtask libtorch` installs (torch 2.11.0, safetensors):

    ~/.cache/stratanet/torch-2.11.0/bin/python scripts/make_rnn_fixtures.py [--out DIR]

It writes tests/fixtures/layers_rnn.safetensors (float32, seeded, CPU). Names group by
case: `lstm/x`, `lstm/kernel`, `lstm/out`, `lstm/grad_x`, ...

Weights are created in the KERAS layout (the tests assign them to the layers as they are)
and converted to torch's inside the autograd graph, so the stored gradients are with respect
to the Keras-layout weights:

- LSTM: kernel [in, 4u] = weight_ih.T, recurrent_kernel [u, 4u] = weight_hh.T, gate order
  i, f, c, o (torch's i, f, g, o is the same); one Keras bias = torch's b_ih (b_hh = 0).
- GRU (Keras 3 reset_after=True == torch's GRU): gates Keras z, r, h vs torch r, z, n, so
  the first two blocks swap; bias [2, 3u] = [b_ih, b_hh] (each reordered).
- SimpleRNN: torch nn.RNN(tanh), b_hh = 0.
- go_backwards: Keras runs over the reversed sequence and returns outputs in processing
  order: torch on x.flip(1), outputs not flipped back.
- Bidirectional (merge concat): torch's bidirectional LSTM (its backward outputs are in
  time order, as Keras' Bidirectional after its reversal); states are the two directions'.
- Masking (Embedding mask_zero + LSTM): right-padded sequences (index 0 at the end);
  Keras holds the state over masked steps, so its last output is torch's h_n from
  pack_padded_sequence.
- MultiHeadAttention: torch nn.MultiheadAttention(embed_dim=E, kdim, vdim, batch_first)
  with separate projections; Keras query/key/value kernels [d, heads, head_dim] are the
  projection weights transposed and split by head; attention_output/kernel [heads,
  head_dim, E] is out_proj.weight.T split likewise. Causal: torch attn_mask = triu(1).
  Attention probabilities per head (average_attn_weights=False).

Gradients are those of `sum(out * loss_weight)` with respect to the inputs and every weight.
"""

import torch
from torch.func import functional_call

import fixture_io

torch.set_default_dtype(torch.float32)


def lw_like(t):
    n = t.numel()
    return (0.5 + (torch.arange(n) * 7 % 11).float() / 10.0).reshape(t.shape)


def leaf(*shape, scale=0.5):
    return (torch.randn(*shape) * scale).requires_grad_(True)


def grads(out, named):
    loss = (out * lw_like(out)).sum()
    gs = torch.autograd.grad(loss, [t for _, t in named], allow_unused=True)
    return {f"grad_{n}": (g if g is not None else torch.zeros_like(t)) for (n, t), g in zip(named, gs)}


def swap_zr(w, u):
    """Keras z, r, h blocks (last axis) -> torch r, z, n."""
    return torch.cat([w[..., u:2 * u], w[..., :u], w[..., 2 * u:]], dim=-1)


def record_cell(out, name, x, k, rk, b, seq, states):
    """Stores under `name/` a one-layer RNN case: input, Keras-layout weights, the output
    sequence, the final `states` and the gradients with respect to the input and weights."""
    named = [("x", x), ("kernel", k), ("recurrent_kernel", rk), ("bias", b)]
    res = {"x": x, "kernel": k, "recurrent_kernel": rk, "bias": b, "out": seq, **states}
    res.update(grads(seq, named))
    out.update({f"{name}/{key}": v.detach().contiguous() for key, v in res.items()})


def lstm_case(out, name, go_backwards=False, n=3, t=6, d=4, u=5):
    x, k, rk, b = leaf(n, t, d), leaf(d, 4 * u), leaf(u, 4 * u), leaf(4 * u, scale=0.2)
    m = torch.nn.LSTM(d, u, batch_first=True)
    p = {"weight_ih_l0": k.T, "weight_hh_l0": rk.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros(4 * u)}
    xin = x.flip(1) if go_backwards else x
    seq, (h, c) = functional_call(m, p, (xin,))
    record_cell(out, name, x, k, rk, b, seq, {"h": h[0], "c": c[0]})


def gru_case(out, name, n=3, t=6, d=4, u=5):
    x, k, rk, b = leaf(n, t, d), leaf(d, 3 * u), leaf(u, 3 * u), leaf(2, 3 * u, scale=0.2)
    m = torch.nn.GRU(d, u, batch_first=True)
    p = {
        "weight_ih_l0": swap_zr(k, u).T,
        "weight_hh_l0": swap_zr(rk, u).T,
        "bias_ih_l0": swap_zr(b[0], u),
        "bias_hh_l0": swap_zr(b[1], u),
    }
    seq, h = functional_call(m, p, (x,))
    record_cell(out, name, x, k, rk, b, seq, {"h": h[0]})


def rnn_case(out, name, n=3, t=6, d=4, u=5):
    x, k, rk, b = leaf(n, t, d), leaf(d, u), leaf(u, u), leaf(u, scale=0.2)
    m = torch.nn.RNN(d, u, batch_first=True)
    p = {"weight_ih_l0": k.T, "weight_hh_l0": rk.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros(u)}
    seq, h = functional_call(m, p, (x,))
    record_cell(out, name, x, k, rk, b, seq, {"h": h[0]})


def bilstm_case(out, name, n=2, t=5, d=3, u=4):
    x = leaf(n, t, d)
    w = {}
    p = {}
    for direction, suffix in [("forward", ""), ("backward", "_reverse")]:
        k, rk, b = leaf(d, 4 * u), leaf(u, 4 * u), leaf(4 * u, scale=0.2)
        w[f"{direction}_kernel"], w[f"{direction}_recurrent_kernel"], w[f"{direction}_bias"] = k, rk, b
        p.update({
            f"weight_ih_l0{suffix}": k.T,
            f"weight_hh_l0{suffix}": rk.T,
            f"bias_ih_l0{suffix}": b,
            f"bias_hh_l0{suffix}": torch.zeros(4 * u),
        })
    m = torch.nn.LSTM(d, u, batch_first=True, bidirectional=True)
    seq, (h, c) = functional_call(m, p, (x,))
    named = [("x", x)] + list(w.items())
    res = {"x": x, **w, "out": seq}
    res.update(grads(seq, named))
    out.update({f"{name}/{key}": v.detach().contiguous() for key, v in res.items()})


def masked_case(out, name, vocab=7, e=3, u=4):
    ids = torch.tensor([[3, 1, 4, 1, 5, 0, 0], [2, 6, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 2]])
    lengths = (ids != 0).sum(1)
    emb = leaf(vocab, e)
    k, rk, b = leaf(e, 4 * u), leaf(u, 4 * u), leaf(4 * u, scale=0.2)
    m = torch.nn.LSTM(e, u, batch_first=True)
    p = {"weight_ih_l0": k.T, "weight_hh_l0": rk.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros(4 * u)}
    xe = torch.nn.functional.embedding(ids, emb)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xe, lengths, batch_first=True, enforce_sorted=False)
    _, (h, _) = functional_call(m, p, (packed,))
    h = h[0]
    named = [("embeddings", emb), ("kernel", k), ("recurrent_kernel", rk), ("bias", b)]
    res = {"ids": ids.float(), "embeddings": emb, "kernel": k, "recurrent_kernel": rk, "bias": b, "h": h}
    res.update(grads(h, named))
    out.update({f"{name}/{key}": v.detach().contiguous() for key, v in res.items()})


def embedding_case(out, name, vocab=9, e=4):
    ids = torch.tensor([[0, 3, 8, 3], [5, 5, 1, 2]])
    emb = leaf(vocab, e)
    y = torch.nn.functional.embedding(ids, emb)
    res = {"ids": ids.float(), "embeddings": emb, "out": y}
    res.update(grads(y, [("embeddings", emb)]))
    out.update({f"{name}/{key}": v.detach().contiguous() for key, v in res.items()})


def mha_case(out, name, causal, n=2, tq=4, tk=5, e=8, dk=6, dv=5, heads=2):
    hd = e // heads
    if causal:
        tk = tq
    q, kx, vx = leaf(n, tq, e), leaf(n, tk, dk), leaf(n, tk, dv)
    qk, kk, vk = leaf(e, heads, hd), leaf(dk, heads, hd), leaf(dv, heads, hd)
    qb, kb, vb = leaf(heads, hd, scale=0.2), leaf(heads, hd, scale=0.2), leaf(heads, hd, scale=0.2)
    ok, ob = leaf(heads, hd, e), leaf(e, scale=0.2)
    m = torch.nn.MultiheadAttention(e, heads, kdim=dk, vdim=dv, batch_first=True)
    p = {
        "q_proj_weight": qk.reshape(e, e).T,
        "k_proj_weight": kk.reshape(dk, e).T,
        "v_proj_weight": vk.reshape(dv, e).T,
        "in_proj_bias": torch.cat([qb.reshape(e), kb.reshape(e), vb.reshape(e)]),
        "out_proj.weight": ok.reshape(e, e).T,
        "out_proj.bias": ob,
    }
    kwargs = {"need_weights": True, "average_attn_weights": False}
    if causal:
        kwargs["attn_mask"] = torch.triu(torch.ones(tq, tk, dtype=torch.bool), diagonal=1)
    y, probs = functional_call(m, p, (q, kx, vx), kwargs)
    w = {
        "query_kernel": qk, "key_kernel": kk, "value_kernel": vk,
        "query_bias": qb, "key_bias": kb, "value_bias": vb,
        "output_kernel": ok, "output_bias": ob,
    }
    named = [("query", q), ("key", kx), ("value", vx)] + list(w.items())
    res = {"query": q, "key": kx, "value": vx, **w, "out": y, "probs": probs}
    res.update(grads(y, named))
    out.update({f"{name}/{key}": v.detach().contiguous() for key, v in res.items()})


def main():
    out_dir = fixture_io.out_dir()
    torch.manual_seed(20240611)
    out = {}
    lstm_case(out, "lstm")
    lstm_case(out, "lstm_back", go_backwards=True)
    gru_case(out, "gru")
    rnn_case(out, "rnn")
    bilstm_case(out, "bilstm")
    masked_case(out, "masked")
    embedding_case(out, "embedding")
    mha_case(out, "mha", causal=False)
    mha_case(out, "mha_causal", causal=True)
    fixture_io.write(out_dir, "layers_rnn.safetensors", out)


if __name__ == "__main__":
    main()

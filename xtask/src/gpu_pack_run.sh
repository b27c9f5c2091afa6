#!/usr/bin/env bash
# stratanet GPU pack (written by `cargo xtask gpu-pack DIR`): runs the release-built test
# binaries, examples and the bench of this folder against an installed PyTorch's libtorch,
# on a machine with no Rust toolchain, and writes DIR/out/summary.json.
#
#   bash DIR/run.sh                 # PyTorch from $PYTHON, else /opt/torch/.venv, else python3
#   PYTHON=/path/to/python bash DIR/run.sh
#   OUT=/some/folder bash DIR/run.sh
#
# Every step runs under `timeout`; a failing step is recorded and the script goes on. The
# whole run is sized to finish in about 8 minutes on a 16-core machine with one GPU. Without
# a CUDA device it says "no CUDA device", skips the GPU bench, and still runs every CPU check
# (the CUDA tests then check that libtorch's CUDA backend is linked and report the skip).
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PACK="$HERE/bin"
OUT="${OUT:-$HERE/out}"
mkdir -p "$OUT"
# The binaries are packed gzipped (the pack stays under 60 MB): unpacked into OUT/bin.
BIN="$OUT/bin"
mkdir -p "$BIN"
for f in "$PACK"/*.gz; do
    [ -f "$f" ] || continue
    exe="$BIN/$(basename "$f" .gz)"
    gzip -dc "$f" >"$exe" && chmod +x "$exe"
done
cp "$PACK/bench_torch.py" "$BIN/"
: >"$OUT/steps.tsv"
START_ALL=$(date +%s)

PY="${PYTHON:-/opt/torch/.venv/bin/python3}"
if [ ! -x "$PY" ]; then
    PY="$(command -v python3 || true)"
fi
echo "== python: ${PY:-none}"
TORCH_DIR=""
if [ -n "$PY" ]; then
    TORCH_DIR="$("$PY" -c 'import torch,os;print(os.path.dirname(torch.__file__))' 2>/dev/null || true)"
fi
if [ -z "$TORCH_DIR" ] || [ ! -d "$TORCH_DIR/lib" ]; then
    echo "run.sh: no PyTorch found (set PYTHON to a python with torch 2.11 installed)" >&2
    TORCH_DIR=""
else
    export LD_LIBRARY_PATH="$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export STRATANET_PYTHON="$PY"
    "$PY" -c 'import torch;print("== torch", torch.__version__, "cuda", torch.version.cuda, "| cuda available:", torch.cuda.is_available(), "| devices:", torch.cuda.device_count())' 2>&1 | tee "$OUT/torch.txt"
fi
echo "== libtorch: ${TORCH_DIR:-none}/lib"
# candle's CUDA binary links the CUDA runtime, cuBLAS, cuRAND and NVRTC: PyTorch's wheels
# keep them in site-packages/nvidia/cu13/lib. It also links the driver's libcuda.so.1; on a
# machine without an NVIDIA driver the stub in bin/stubs (every call fails) stands in, last
# on candle's path only (libtorch would take it for a driver), so that the binary starts and
# reports no CUDA device.
CANDLE_LD="${LD_LIBRARY_PATH:-}"
if [ -n "$TORCH_DIR" ] && [ -d "$TORCH_DIR/../nvidia/cu13/lib" ]; then
    CANDLE_LD="$(cd "$TORCH_DIR/../nvidia/cu13/lib" && pwd)${CANDLE_LD:+:$CANDLE_LD}"
fi
if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1' && [ -e "$PACK/stubs/libcuda.so.1" ]; then
    echo "== no NVIDIA driver (libcuda.so.1): candle runs against bin/stubs (no CUDA device)"
    CANDLE_LD="${CANDLE_LD:+$CANDLE_LD:}$PACK/stubs"
fi

GPU=0
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/nvidia-smi.txt"
fi
if [ -n "$TORCH_DIR" ] && "$PY" -c 'import sys,torch;sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    GPU=1
    echo "== CUDA device present"
else
    echo "== no CUDA device: the CUDA tests report their skip, the GPU bench is skipped"
fi
NCPU="$(nproc 2>/dev/null || echo 4)"
echo "== $NCPU CPU cores"

# summary.json: per step name, exit code, seconds, libtest counts; the bench results.
# Rewritten after every step, so a run cut short still leaves one.
write_summary() {
SUMMARY_PY="${PY:-python3}"
FINAL="${FINAL:-0}" GPU="$GPU" OUT="$OUT" TORCH_DIR="$TORCH_DIR" TOTAL=$(($(date +%s) - START_ALL)) "$SUMMARY_PY" - <<'EOF'
import json, os, re
out = os.environ["OUT"]
steps = []
for line in open(os.path.join(out, "steps.tsv")):
    parts = line.rstrip("\n").split("\t")
    name, rc, ms = parts[0], parts[1], parts[2]
    s = {"name": name, "exit_code": None if rc == "skipped" else int(rc),
         "seconds": round(int(ms or 0) / 1000, 2)}
    if rc == "skipped":
        s["skipped"] = parts[3] if len(parts) > 3 else True
    else:
        s["timed_out"] = int(rc) in (124, 137)
    log = os.path.join(out, name + ".log")
    if os.path.exists(log):
        text = open(log, errors="replace").read()
        counts = re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", text)
        if counts:
            s["passed"] = sum(int(c[0]) for c in counts)
            s["failed"] = sum(int(c[1]) for c in counts)
            s["ignored"] = sum(int(c[2]) for c in counts)
        s["failures"] = sorted(set(re.findall(r"^test (\S+) \.\.\. FAILED", text, re.M)))
        notes = [l.strip() for l in text.splitlines()
                 if not l.startswith(("----", "|")) and " " in l.strip()
                 and re.search(r"no CUDA device|skipped|worst|conformance on|CUDA tensor|mapped from|load|self-check|wrote", l)]
        if notes:
            s["notes"] = sorted(set(notes))[:60]
    steps.append(s)
summary = {"cuda_device": os.environ["GPU"] == "1", "libtorch": os.environ["TORCH_DIR"],
           "total_seconds": int(os.environ["TOTAL"]), "steps": steps}
for f in ("torch.txt", "nvidia-smi.txt"):
    p = os.path.join(out, f)
    if os.path.exists(p):
        summary[f.split(".")[0]] = open(p).read().strip()
for b in ("bench_cuda", "bench_cuda_mlp_b1024", "bench_candle_cuda", "bench_cpu"):
    p = os.path.join(out, b, "results.json")
    if os.path.exists(p):
        summary[b] = json.load(open(p))
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
if os.environ.get("FINAL") == "1":
    print("wrote", os.path.join(out, "summary.json"))
for s in steps if os.environ.get("FINAL") == "1" else []:
    print("  %-18s exit %-8s %7.1fs  passed %-4s failed %s" % (
        s["name"], s["exit_code"] if s["exit_code"] is not None else "skipped",
        s["seconds"], s.get("passed", "-"), s.get("failed", "-")))
EOF
}

# step NAME SECONDS CMD...: runs CMD under `timeout`, logs to $OUT/NAME.log, records the
# exit code and wall milliseconds in $OUT/steps.tsv. Never stops the script.
BUDGET="${BUDGET:-480}"
step() {
    local name="$1" limit="$2"
    shift 2
    # The whole run stays within $BUDGET seconds (default 8 minutes): a step gets at most
    # what is left, and is skipped when less than 10 s is.
    local left=$((BUDGET - ($(date +%s) - START_ALL)))
    if [ "$left" -lt 10 ]; then
        skip "$name" "time budget of ${BUDGET}s spent"
        return
    fi
    if [ "$limit" -gt "$left" ]; then limit="$left"; fi
    echo
    echo "== step $name (limit ${limit}s): $*"
    local t0 t1 rc
    t0=$(date +%s%N)
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    tail -n 25 "$OUT/$name.log"
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(((t1 - t0) / 1000000))" >>"$OUT/steps.tsv"
    echo "== step $name: exit $rc"
    write_summary >/dev/null 2>&1 || true
}
skip() {
    echo
    echo "== step $1 skipped: $2"
    printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$OUT/steps.tsv"
    write_summary >/dev/null 2>&1 || true
}

# 1. Every binary finds its libraries, libtorch_cuda.so included (linked, not dropped).
libs() {
    local bad=0
    for b in "$BIN"/*; do
        [ -x "$b" ] && [ -f "$b" ] || continue
        case "$b" in *.py) continue ;; esac
        echo "--- $(basename "$b")"
        # Binaries with candle's CUDA engine find the CUDA libraries on candle's path.
        local ld="$LD_LIBRARY_PATH"
        case "$(basename "$b")" in *candle*) ld="$CANDLE_LD" ;; esac
        LD_LIBRARY_PATH="$ld" ldd "$b" | grep -E 'libtorch|libc10|libcuda|libcudart|libcublas|not found' || true
        if LD_LIBRARY_PATH="$ld" ldd "$b" | grep -q 'not found'; then bad=1; fi
        # candle's conformance suite links the CUDA libraries instead of libtorch.
        case "$(basename "$b")" in candle_*) continue ;; esac
        if ! ldd "$b" | grep -q 'libtorch_cuda.so'; then
            echo "libtorch_cuda.so missing from $(basename "$b")"
            bad=1
        fi
    done
    return $bad
}
export BIN CANDLE_LD
export -f libs
step libs 60 bash -c libs

# 2. CUDA smoke tests: libtorch_cuda mapped, a CUDA tensor reaches the CUDA backend, ops and
#    gradients on cuda:0 (skipped with a message without a GPU).
step cuda_tests 120 "$BIN/cuda" --test-threads=1 --show-output

# 3. CPU <-> CUDA parity (activations, losses, optimizer steps, CNN, LSTM, functional model,
#    save/load across devices), printing the worst relative difference of each.
#    Without a GPU the same tests compare the CPU with itself (STRATANET_PARITY_SELF_CHECK),
#    so every line of them still runs.
#    cuDNN and cuBLAS may use TF32 for f32 convolutions and RNNs (PyTorch's default for
#    cuDNN), which rounds inputs to 10 mantissa bits; the 1e-4 parity is measured with TF32
#    off (NVIDIA_TF32_OVERRIDE=0), and once more with the default to show what TF32 costs.
if [ "$GPU" = 1 ]; then
    step cuda_parity 240 env NVIDIA_TF32_OVERRIDE=0 "$BIN/cuda_parity" --test-threads=1 --show-output
    step cuda_parity_tf32_default 240 "$BIN/cuda_parity" --test-threads=1 --show-output
else
    step cuda_parity_selfcheck 240 env STRATANET_PARITY_SELF_CHECK=1 \
        "$BIN/cuda_parity" --test-threads=1 --show-output
fi

# 3b. Devices the Keras way: default placement (Device::auto, STRATANET_DEVICE), to_device /
#     on_device with optimizer state, inputs on another device than the model (their CUDA
#     halves print a skip line without a GPU).
step devices 240 "$BIN/devices" --test-threads=1 --show-output
step device_env 120 "$BIN/device_env" --test-threads=1 --show-output

# 4. The conformance suite on the CUDA device (every test reports a skip without a GPU)
#    and on the CPU.
step conformance_cuda 300 env NVIDIA_TF32_OVERRIDE=0 "$BIN/conformance" cuda:: --test-threads=4 --show-output
# One libtorch thread per test: the tests run $NCPU at a time.
step conformance_cpu 240 env OMP_NUM_THREADS=1 "$BIN/conformance" cpu:: --test-threads="$NCPU"

# 4b. candle's CUDA engine: the same conformance suite on cuda:0 (each test reports a skip
#     without a GPU), and on the CPU in the same binary.
if [ -x "$BIN/candle_conformance" ]; then
    step candle_conformance 180 env NVIDIA_TF32_OVERRIDE=0 LD_LIBRARY_PATH="$CANDLE_LD" \
        "$BIN/candle_conformance" \
        --test-threads=4 --show-output
fi

# 5. An example end to end on the tch engine.
if [ -x "$BIN/quickstart" ]; then
    step quickstart 120 "$BIN/quickstart" --backend tch
fi

# 6. The bench: every workload on the GPU against PyTorch on the same libtorch, the MLP again
#    at batch 1,024, then a quick CPU run of the MLP.
if [ "$GPU" = 1 ]; then
    step bench_cuda 300 "$BIN/stratanet-bench" --device cuda --out "$OUT/bench_cuda"
    # The MLP at batch 1,024 (the GPU busier per step than at 128).
    step bench_cuda_mlp_b1024 150 env STRATANET_BENCH_BATCH=1024 "$BIN/stratanet-bench" \
        --device cuda --workloads mlp --no-rss --out "$OUT/bench_cuda_mlp_b1024"
    # candle's CUDA engine beside libtorch (the bench built with its `cuda` feature; no
    # PyTorch rerun).
    if [ -x "$BIN/stratanet-bench-candle-cuda" ]; then
        step bench_candle_cuda 240 env LD_LIBRARY_PATH="$CANDLE_LD" \
            "$BIN/stratanet-bench-candle-cuda" --device cuda --engines candle,tch --no-python \
            --no-rss --out "$OUT/bench_candle_cuda"
    fi
else
    skip bench_cuda "no CUDA device"
fi
step bench_cpu 150 "$BIN/stratanet-bench" --quick --workloads mlp --engines tch --no-rss \
    --threads "$NCPU" --out "$OUT/bench_cpu"

END_ALL=$(date +%s)
echo
echo "== total $((END_ALL - START_ALL)) s"

FINAL=1 write_summary

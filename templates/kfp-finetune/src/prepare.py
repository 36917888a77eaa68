"""Prepare: split the private raw text into train and eval sets, on the private machine."""
import argparse
import json
import pathlib
import random


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--raw", required=True, help="folder of .jsonl files with one {text_field: ...} per line")
    p.add_argument("--text-field", default="text")
    p.add_argument("--eval-fraction", type=float, default=0.1)
    p.add_argument("--out", required=True, help="folder for train.jsonl and eval.jsonl")
    a = p.parse_args()

    rows = []
    for f in sorted(pathlib.Path(a.raw).glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line).get(a.text_field)
                if isinstance(text, str) and text.strip():
                    rows.append({"text": text})
    if not rows:
        raise SystemExit(f"no rows with a non-empty {a.text_field!r} field under {a.raw}")
    random.Random(42).shuffle(rows)
    n_eval = max(1, int(len(rows) * a.eval_fraction))
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("eval.jsonl", rows[:n_eval]), ("train.jsonl", rows[n_eval:])):
        (out / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    print(f"prepared {len(rows) - n_eval} train and {n_eval} eval rows in {out}")


if __name__ == "__main__":
    main()

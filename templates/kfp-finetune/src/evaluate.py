"""Evaluate: perplexity of the fine-tuned adapter on the held-out set; fails below the bar."""
import argparse
import json
import math
import pathlib

import torch
from peft import AutoPeftModelForCausalLM
from transformers import AutoTokenizer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--max-perplexity", type=float, default=50.0)
    p.add_argument("--metrics", required=True, help="file for the metrics JSON")
    a = p.parse_args()

    tok = AutoTokenizer.from_pretrained(a.model)
    model = AutoPeftModelForCausalLM.from_pretrained(a.model).eval()
    losses = []
    for line in pathlib.Path(a.data, "eval.jsonl").read_text().splitlines():
        enc = tok(json.loads(line)["text"], return_tensors="pt", truncation=True, max_length=1024)
        with torch.no_grad():
            losses.append(model(**enc, labels=enc["input_ids"]).loss.item())
    ppl = math.exp(sum(losses) / len(losses))
    pathlib.Path(a.metrics).write_text(json.dumps({"perplexity": ppl, "eval_rows": len(losses)}))
    print(f"perplexity {ppl:.2f} over {len(losses)} rows")
    if ppl > a.max_perplexity:
        raise SystemExit(f"perplexity {ppl:.2f} is above the bar {a.max_perplexity}")


if __name__ == "__main__":
    main()

"""Fine-tune: LoRA adapters on the base model, on one GPU of the private machine."""
import argparse
import pathlib

import yaml
from datasets import load_dataset
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer, TrainingArguments


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="configs/finetune.yaml")
    p.add_argument("--data", required=True, help="folder with train.jsonl and eval.jsonl")
    p.add_argument("--out", required=True, help="folder for the adapter and tokenizer")
    a = p.parse_args()
    cfg = yaml.safe_load(pathlib.Path(a.config).read_text())

    tok = AutoTokenizer.from_pretrained(cfg["base_model"])
    tok.pad_token = tok.pad_token or tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(cfg["base_model"], torch_dtype="auto")
    lora = cfg["lora"]
    model = get_peft_model(model, LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"], target_modules=lora["target_modules"], task_type="CAUSAL_LM"))

    files = {"train": f"{a.data}/train.jsonl", "eval": f"{a.data}/eval.jsonl"}
    ds = load_dataset("json", data_files=files).map(lambda b: tok(b["text"], truncation=True, max_length=cfg["train"]["max_length"]), batched=True, remove_columns=["text"])
    t = cfg["train"]
    args = TrainingArguments(output_dir=f"{a.out}/checkpoints", num_train_epochs=t["epochs"], learning_rate=t["learning_rate"], per_device_train_batch_size=t["batch_size"], eval_strategy="epoch", save_strategy="epoch", report_to=["mlflow"], bf16=True)
    Trainer(model=model, args=args, train_dataset=ds["train"], eval_dataset=ds["eval"], data_collator=DataCollatorForLanguageModeling(tok, mlm=False)).train()
    model.save_pretrained(a.out)
    tok.save_pretrained(a.out)
    print(f"adapter written to {a.out}")


if __name__ == "__main__":
    main()

"""The fine-tuning pipeline, Kubeflow Pipelines v2: prepare -> fine-tune (LoRA, one GPU) -> evaluate -> register.

Each step is a container component running the project's trainer image (built from
requirements-train.txt and src/), so the compiled IR names every command and argument.
Compile: python pipeline/pipeline.py --output pipeline/finetune.yaml
"""
import argparse

from kfp import compiler, dsl

TRAIN_IMAGE = "@@TRAIN_IMAGE@@"


@dsl.container_component
def prepare(raw_dir: str, eval_fraction: float, dataset: dsl.Output[dsl.Dataset]):
    return dsl.ContainerSpec(
        image=TRAIN_IMAGE,
        command=["python", "/app/src/prepare.py"],
        args=["--raw", raw_dir, "--eval-fraction", eval_fraction, "--out", dataset.path],
    )


@dsl.container_component
def finetune(config: str, dataset: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model]):
    return dsl.ContainerSpec(
        image=TRAIN_IMAGE,
        command=["python", "/app/src/finetune.py"],
        args=["--config", config, "--data", dataset.path, "--out", model.path],
    )


@dsl.container_component
def evaluate(max_perplexity: float, dataset: dsl.Input[dsl.Dataset], model: dsl.Input[dsl.Model], metrics: dsl.Output[dsl.Metrics]):
    return dsl.ContainerSpec(
        image=TRAIN_IMAGE,
        command=["python", "/app/src/evaluate.py"],
        args=["--model", model.path, "--data", dataset.path, "--max-perplexity", max_perplexity, "--metrics", metrics.path],
    )


@dsl.container_component
def register(registered_model: str, model: dsl.Input[dsl.Model], metrics: dsl.Input[dsl.Metrics]):
    return dsl.ContainerSpec(
        image=TRAIN_IMAGE,
        command=["python", "/app/src/register.py"],
        args=["--model", model.path, "--metrics", metrics.path, "--name", registered_model],
    )


@dsl.pipeline(name="kfp-finetune", description="LoRA fine-tuning on private data; registers the adapter in the local MLflow.")
def finetune_pipeline(
    raw_dir: str = "/data/raw",
    config: str = "/app/configs/finetune.yaml",
    eval_fraction: float = 0.1,
    max_perplexity: float = 50.0,
    registered_model: str = "@@PROJECT@@",
):
    prep = prepare(raw_dir=raw_dir, eval_fraction=eval_fraction)
    tune = finetune(config=config, dataset=prep.outputs["dataset"])
    tune.set_accelerator_type("nvidia.com/gpu").set_accelerator_limit(1)
    tune.set_memory_limit("32G").set_cpu_limit("8")
    ev = evaluate(max_perplexity=max_perplexity, dataset=prep.outputs["dataset"], model=tune.outputs["model"])
    register(registered_model=registered_model, model=tune.outputs["model"], metrics=ev.outputs["metrics"])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", default="pipeline/finetune.yaml")
    compiler.Compiler().compile(finetune_pipeline, package_path=ap.parse_args().output)

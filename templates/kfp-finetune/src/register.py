"""Register: log the adapter to the local MLflow and register a model version, tagged with its data class.

The data class comes from the project (MLABS_DATA_CLASS). A sensitive model is registered without
`mlabs.deidentified`: a person sets that tag (with mlabs.deidentified_by and mlabs.deidentified_at)
after review, and only then may `promote` move it to the cloud.
"""
import argparse
import json
import os
import pathlib

import mlflow


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--name", required=True, help="registered model name")
    a = p.parse_args()

    data_class = os.environ.get("MLABS_DATA_CLASS", "sensitive")
    with mlflow.start_run() as run:
        mlflow.set_tag("mlabs.data_class", data_class)
        mlflow.log_metrics(json.loads(pathlib.Path(a.metrics).read_text()))
        mlflow.log_artifacts(a.model, artifact_path="model")
        version = mlflow.register_model(f"runs:/{run.info.run_id}/model", a.name)
    print(f"registered {a.name} version {version.version} (data class {data_class})")


if __name__ == "__main__":
    main()

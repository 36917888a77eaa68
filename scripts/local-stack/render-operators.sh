#!/usr/bin/env bash
# Renders the local stack's training operators (jobset, kueue, kuberay) from their upstream trees at the
# pinned tags into actions/lib/local-stack/manifests/<name>/<name>.yaml.gz, and prints each file's
# sha256 (the value matrix.ts's OPERATORS pins; apply.ts refuses a file that does not match).
#
#   scripts/local-stack/render-operators.sh JOBSET_GIT_DIR KUEUE_GIT_DIR KUBERAY_GIT_DIR
#
# Each GIT_DIR is a clone (or bare mirror) of kubernetes-sigs/jobset, kubernetes-sigs/kueue,
# ray-project/kuberay. What is rendered is what the projects' own `make artifacts` renders
# (`kustomize build config/default` with the release image), with three changes made by the overlay:
# the release image, the Namespace object left out (the action creates and labels it), and the
# stack's labels on every object (undeploy finds its own by them). Versions: keep in step with OPERATORS.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$here/actions/lib/local-stack/manifests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render() { # name git-dir tag tree namespace image-from image-to
  local name=$1 gitdir=$2 tag=$3 tree=$4 ns=$5 from=$6 to=$7
  mkdir -p "$work/$name/src" "$work/$name/overlay"
  git --git-dir="$gitdir" archive "$tag" "$tree" "$(dirname "$tree")" 2>/dev/null | tar -x -C "$work/$name/src" || git --git-dir="$gitdir" archive "$tag" "$tree" | tar -x -C "$work/$name/src"
  cat > "$work/$name/overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $ns
resources:
- ../src/$tree
images:
- name: ${from%:*}
  newName: ${to%:*}
  newTag: ${to##*:}
labels:
- pairs:
    app.kubernetes.io/managed-by: mlabs-actions
    app.kubernetes.io/part-of: mlabs-local-stack
    mlabs.dev/component: $name
patches:
- target: {kind: Namespace}
  patch: |-
    \$patch: delete
    apiVersion: v1
    kind: Namespace
    metadata: {name: unused}
YAML
  mkdir -p "$out/$name"
  kubectl kustomize "$work/$name/overlay" > "$work/$name.yaml"
  gzip -9 -n -c "$work/$name.yaml" > "$out/$name/$name.yaml.gz"
  echo "$name $tag sha256 $(sha256sum "$work/$name.yaml" | cut -d' ' -f1) ($(wc -c < "$work/$name.yaml") bytes)"
}

render jobset "$1" v0.12.0 config/default jobset-system us-central1-docker.pkg.dev/k8s-staging-images/jobset/jobset:v0.12.0 registry.k8s.io/jobset/jobset:v0.12.0
render kueue "$2" v0.19.2 config/default kueue-system us-central1-docker.pkg.dev/k8s-staging-images/kueue/kueue:main registry.k8s.io/kueue/kueue:v0.19.2
render kuberay "$3" v1.7.0 ray-operator/config/default kuberay-system quay.io/kuberay/operator:v1.7.0 quay.io/kuberay/operator:v1.7.0

/**
 * Pinned versions of the programs the local stack installs on a machine, with their checksums.
 * helm: SHA-256 inlined from the v3.16.4 release page. minikube: checked against the `.sha256` file the
 * minikube project publishes next to each pinned binary (the tool-install helper refuses a mismatch).
 */
import type { ToolPin } from '../tools/install.js';

export const HELM: ToolPin = {
  name: 'helm',
  version: 'v3.16.4',
  url: {
    amd64: 'https://get.helm.sh/helm-v3.16.4-linux-amd64.tar.gz',
    arm64: 'https://get.helm.sh/helm-v3.16.4-linux-arm64.tar.gz',
  },
  sha256: {
    amd64: 'fc307327959aa38ed8f9f7e66d45492bb022a66c3e5da6063958254b9767d179',
    arm64: 'd3f8f15b3d9ec8c8678fbf3280c3e5902efabe5912e2f9fcf29107efbc8ead69',
  },
  archiveMember: 'linux-{arch}/helm',
};

const MINIKUBE_BASE = 'https://github.com/kubernetes/minikube/releases/download/v1.35.0';

export const MINIKUBE: ToolPin = {
  name: 'minikube',
  version: 'v1.35.0',
  url: { amd64: `${MINIKUBE_BASE}/minikube-linux-amd64`, arm64: `${MINIKUBE_BASE}/minikube-linux-arm64` },
  sha256: { amd64: { url: `${MINIKUBE_BASE}/minikube-linux-amd64.sha256` }, arm64: { url: `${MINIKUBE_BASE}/minikube-linux-arm64.sha256` } },
};

// local-stack refusals and the agx machine: the support matrix is decided from the node, and a refusal
// (unsupported, does not fit, missing NGC key) happens before anything is created in the cluster.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { explain, NGC_KEY, startStack, statusOf, type StackFixture } from './helpers.js';

describe('local-stack on agx (Jetson AGX Orin)', () => {
  let f: StackFixture;
  beforeAll(async () => {
    f = await startStack('agx');
  });
  afterAll(async () => f?.stop());

  it('NIM on agx is refused with the support table before anything is applied', async () => {
    const before = f.objects();
    const run = await f.run({ operation: 'deploy', components: 'qdrant,nim', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 1);
    const err = run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
    assert.match(err, /Refused before anything was applied: nim cannot run on agx/);
    assert.match(err, /\| component \| asked \(requests\) \| fits on this node \| verdict \|/);
    assert.match(err, /\| nim \| cpu 4, memory 32Gi, nvidia.com\/gpu 1 \| — \| refused: not supported on jetson \(arm64\): NIM LLM containers are not built for Jetson/);
    assert.match(err, /\| qdrant \| cpu 500m, memory 2Gi \| docker.io\/qdrant\/qdrant:v1.13.4 \| supported \|/);
    assert.match(run.summary, /local-stack: refused/);
    assert.deepEqual(f.objects(), before, 'nothing was created');
    assert.deepEqual(run.leaks(NGC_KEY), []);
  });

  it('Qdrant on agx deploys with the arm64 image; Ollama gets the Jetson (L4T) build', async () => {
    const run = await f.run({ operation: 'deploy', components: 'qdrant,ollama' });
    assert.equal(run.exitCode, 0, explain(run));
    const st = statusOf(run);
    assert.deepEqual(st.map((s) => [s.component, s.status, s.architecture]), [['qdrant', 'deployed', 'jetson (arm64)'], ['ollama', 'deployed', 'jetson (arm64)']]);
    assert.equal(await f.kubectl(['get', 'statefulset', 'qdrant', '-n', 'qdrant', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'docker.io/qdrant/qdrant:v1.13.4');
    assert.equal(await f.kubectl(['get', 'deployment', 'ollama', '-n', 'ollama', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'docker.io/dustynv/ollama:0.6.5-r36.4.0');
    assert.equal(await f.kubectl(['get', 'node', 'agx', '-o', 'jsonpath={.status.nodeInfo.architecture}']), 'arm64');
  });

  it('ollama_models are pulled through the service once Ollama is up, with progress in the log', async () => {
    f.kube.setProxyAnswer('agx', 'ollama', 'ollama', (path) => path === '/api/pull'
      ? { status: 200, contentType: 'application/x-ndjson', body: ['{"status":"pulling manifest"}', '{"status":"pulling 6a0746a1ec1a","digest":"sha256:6a07","total":100,"completed":50}', '{"status":"pulling 6a0746a1ec1a","digest":"sha256:6a07","total":100,"completed":100}', '{"status":"verifying sha256 digest"}', '{"status":"success"}'].join('\n') }
      : undefined);
    const run = await f.run({ operation: 'deploy', components: 'ollama', ollama_models: 'llama3.2:3b' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.match(run.main.stdout, /ollama llama3.2:3b: pulling 6a0746a1ec1a 50%/);
    assert.match(run.main.stdout, /ollama llama3.2:3b: success/);
  });
});

describe('local-stack refusals on dgx', () => {
  let f: StackFixture;
  beforeAll(async () => {
    f = await startStack('dgx');
  });
  afterAll(async () => f?.stop());

  it('components whose requests do not fit are refused with asked vs free', async () => {
    const before = f.objects();
    const run = await f.run({ operation: 'deploy', components: 'ollama,nim', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 1);
    const err = run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
    assert.match(err, /the components' requests do not fit on dgx \(GPUs: asked 2, free 1 of 1\)/);
    assert.match(err, /\| \*\*total\*\* \| cpu 6, memory 48Gi, nvidia.com\/gpu 2 \| free: cpu 20, memory 128Gi, nvidia.com\/gpu 1 \| does not fit/);
    assert.deepEqual(f.objects(), before);
  });

  it('Kubeflow Pipelines on an arm64 node is refused (upstream images are amd64 only)', async () => {
    const run = await f.run({ operation: 'deploy', components: 'kfp' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.annotations.find((a) => a.level === 'error')?.message ?? '', /kfp \| cpu 2, memory 6Gi \| — \| refused: not supported on arm64 \(arm64\): Kubeflow Pipelines publishes linux\/amd64 images only \(kubeflow\/pipelines#10309, #12705\); deploy it on the amd64 machine instead \(local-stack-deploy with runner: wsl2\)/);
  });

  it('a missing NGC key is refused by name before anything is created (not even minikube is asked)', async () => {
    f.resetCalls();
    const before = f.objects();
    const run = await f.run({ operation: 'deploy', components: 'mlflow,nim' });
    assert.equal(run.exitCode, 1);
    const err = run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
    assert.match(err, /Input "ngc_api_key" is empty: this secret is required for nim \(image pulls from nvcr.io and model downloads\); nothing was created/);
    assert.deepEqual(f.objects(), before);
    assert.deepEqual(f.calls(), []);
  });

  it('a stopped minikube profile is started with the docker driver and every GPU; a running one is not restarted', async () => {
    f.resetCalls();
    writeFileSync(join(f.standins, 'minikube-state'), 'Stopped');
    const run = await f.run({ operation: 'status', components: 'qdrant' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.deepEqual(f.calls('minikube').map((c) => c.argv), [
      ['status', '-p', 'dgx', '-o', 'json'],
      ['start', '-p', 'dgx', '--driver=docker', '--container-runtime=docker', '--gpus', 'all'],
    ]);
    f.resetCalls();
    const again = await f.run({ operation: 'status', components: 'qdrant' });
    assert.equal(again.exitCode, 0, explain(again));
    assert.deepEqual(f.calls('minikube').map((c) => c.argv), [['status', '-p', 'dgx', '-o', 'json']]);
    assert.deepEqual(statusOf(again).map((s) => s.status), ['absent']);
  });

  it('NIM alone on dgx deploys with the NGC pull secret and key env, never printing the key', async () => {
    const run = await f.run({ operation: 'deploy', components: 'nim', ngc_api_key: NGC_KEY, nim_model: 'meta/llama-3.1-8b-instruct:1.3.3' });
    assert.equal(run.exitCode, 0, explain(run));
    const dep = JSON.parse(await f.kubectl(['get', 'deployment', 'nim', '-n', 'nim', '-o', 'json'])) as { spec: { template: { spec: { imagePullSecrets: { name: string }[]; containers: { image: string; env: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[] } } } };
    assert.deepEqual(dep.spec.template.spec.imagePullSecrets, [{ name: 'ngc-registry' }]);
    assert.equal(dep.spec.template.spec.containers[0]?.image, 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.3');
    assert.equal(dep.spec.template.spec.containers[0]?.env.find((e) => e.name === 'NGC_API_KEY')?.valueFrom?.secretKeyRef?.name, 'ngc-api');
    const pull = JSON.parse(await f.kubectl(['get', 'secret', 'ngc-registry', '-n', 'nim', '-o', 'json'])) as { type: string; data: Record<string, string> };
    assert.equal(pull.type, 'kubernetes.io/dockerconfigjson');
    assert.match(Buffer.from(pull.data['.dockerconfigjson'] ?? '', 'base64').toString(), /"nvcr.io":\{"username":"\$oauthtoken"/);
    assert.equal(statusOf(run)[0]?.health, 'nim /v1/health/ready ok');
    assert.deepEqual(run.leaks(NGC_KEY), []);
    assert.deepEqual(run.leaks(pull.data['.dockerconfigjson'] ?? ''), []);
  });
});

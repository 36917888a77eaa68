// local-stack on the sandbox's dgx machine, through the bundle with real kubectl: deploy, re-run,
// undeploy keeping data, purge confirmation, status, an unpullable image; helm and minikube recorded.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { explain, NGC_KEY, startStack, statusOf, type StackFixture } from './helpers.js';

describe('local-stack on dgx', () => {
  let f: StackFixture;
  beforeAll(async () => {
    f = await startStack('dgx');
  });
  afterAll(async () => f?.stop());

  it('deploys mlflow, qdrant, ollama and nemo: rollouts done, health checks pass, arm64 images, exact helm/minikube argv', async () => {
    const run = await f.run({ operation: 'deploy', components: 'mlflow,qdrant,ollama,nemo', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 0, explain(run));
    const st = statusOf(run);
    assert.deepEqual(st.map((s) => s.component), ['mlflow', 'qdrant', 'ollama', 'nemo']);
    for (const s of st) {
      assert.equal(s.status, 'deployed', `${s.component}: ${s.status} ${s.error ?? ''}`);
      assert.doesNotMatch(s.health, /failing/, s.health);
      assert.equal(s.architecture, 'arm64 (arm64)');
    }
    assert.match(st[0]?.health ?? '', /minio \/minio\/health\/live ok; mlflow \/health ok/);
    assert.equal(run.outputs.mlflow_url, 'http://mlflow.mlflow.svc.cluster.local:5000');
    assert.equal(run.outputs.mlflow_tunnel, 'ssh -N -L 5000:192.168.49.2:30500 -L 9001:192.168.49.2:30901 dgx.lab.internal');
    assert.match(run.outputs.qdrant_tunnel ?? '', /ssh -N -L 6333:192\.168\.49\.2:30633 /);
    // One line for everything, each service on its own unprivileged workstation port; NeMo (no
    // NodePort) through a port-forward on the machine to 8001, not NIM's 8000.
    assert.equal(
      run.outputs.tunnel,
      'ssh -N -L 5000:192.168.49.2:30500 -L 9001:192.168.49.2:30901 -L 6333:192.168.49.2:30633 -L 11434:192.168.49.2:31434 -L 8001:127.0.0.1:8001 dgx.lab.internal' +
        '  # after, on the machine: kubectl -n nemo port-forward svc/nemo-entity-store 8001:8000',
    );
    assert.ok(run.summary.includes(run.outputs.tunnel ?? '-'), 'the summary prints the one line');
    // Images per architecture, requests from the matrix, on the real objects.
    const ollama = JSON.parse(await f.kubectl(['get', 'deployment', 'ollama', '-n', 'ollama', '-o', 'json'])) as { spec: { template: { spec: { containers: { image: string; resources: { requests: Record<string, string> } }[] } } } };
    assert.equal(ollama.spec.template.spec.containers[0]?.image, 'docker.io/ollama/ollama:0.6.5');
    assert.equal(ollama.spec.template.spec.containers[0]?.resources.requests['nvidia.com/gpu'], '1');
    const ns = JSON.parse(await f.kubectl(['get', 'namespace', 'qdrant', '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
    assert.equal(ns.metadata.labels['app.kubernetes.io/managed-by'], 'mlabs-actions');
    // The bucket is created by an init container before MLflow starts.
    const mlflow = JSON.parse(await f.kubectl(['get', 'deployment', 'mlflow', '-n', 'mlflow', '-o', 'json'])) as { spec: { template: { spec: { initContainers: { name: string; image: string; args: string[] }[] } } } };
    assert.equal(mlflow.spec.template.spec.initContainers[0]?.name, 'create-bucket');
    assert.match(mlflow.spec.template.spec.initContainers[0]?.args[0] ?? '', /mc mb --ignore-existing store\/mlflow/);
    // Server-side apply with the suite's field manager.
    const managed = JSON.parse(await f.kubectl(['get', 'service', 'qdrant', '-n', 'qdrant', '-o', 'json', '--show-managed-fields'])) as { metadata: { managedFields: { manager: string; operation: string }[] } };
    assert.ok(managed.metadata.managedFields.some((m) => m.manager === 'mlabs-actions' && m.operation === 'Apply'));
    // minikube: asked, running, left alone.
    assert.deepEqual(f.calls('minikube').map((c) => c.argv), [['status', '-p', 'dgx', '-o', 'json']]);
    const kc = ['--kubeconfig', f.machine.kubeconfigPath];
    const helm = f.calls('helm');
    assert.deepEqual(helm.map((c) => c.argv), [
      ['list', '--namespace', 'nemo', '--filter', '^nemo$', '--output', 'json', ...kc],
      ['repo', 'add', 'nemo-microservices', 'https://helm.ngc.nvidia.com/nvidia/nemo-microservices', '--username', '$oauthtoken', '--password-stdin', '--force-update'],
      ['upgrade', '--install', 'nemo', 'nemo-microservices/nemo-microservices-helm-chart', '--version', '25.6.0', '--namespace', 'nemo', '--values', helm[2]?.argv[9] ?? '', '--wait', '--timeout', '120s', ...kc],
    ]);
    assert.equal(helm[1]?.stdinBytes, NGC_KEY.length, 'the NGC key reaches helm on stdin');
    // NGC Secrets exist; generated MinIO credentials exist; none of them leaks.
    await f.kubectl(['get', 'secret', 'ngc-registry', 'ngc-api', '-n', 'nemo']);
    const minio = JSON.parse(await f.kubectl(['get', 'secret', 'mlflow-minio', '-n', 'mlflow', '-o', 'json'])) as { data: Record<string, string> };
    const password = Buffer.from(minio.data.MINIO_ROOT_PASSWORD ?? '', 'base64').toString();
    assert.ok(password.length >= 24);
    assert.deepEqual(run.leaks(NGC_KEY), []);
    assert.deepEqual(run.leaks(password), []);
    assert.deepEqual(run.leaks(Buffer.from(`$oauthtoken:${NGC_KEY}`).toString('base64')), []);
    assert.match(run.summary, /\| component \| version \| image \| architecture \| requests \| status \| health \| endpoint \|/);
    assert.match(run.summary, /\| qdrant \| 1\.13\.4 \| docker\.io\/qdrant\/qdrant:v1\.13\.4 \| arm64 \(arm64\) \| cpu 500m, memory 2Gi \| deployed \|/);
  });

  it('re-running deploy changes nothing: server-side apply is a no-op, helm upgrade is skipped', async () => {
    f.resetCalls();
    const run = await f.run({ operation: 'deploy', components: 'mlflow,qdrant,ollama,nemo', ngc_api_key: NGC_KEY });
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal(run.outputs.changed, 'false', JSON.stringify(statusOf(run).map((s) => s.changed)));
    for (const s of statusOf(run)) assert.equal(s.status, 'unchanged', s.component);
    assert.deepEqual(f.calls('helm').map((c) => c.argv[0] + ' ' + c.argv[1]), ['list --namespace', 'get values']);
    assert.match(run.main.stdout, /upgrade skipped/);
    assert.deepEqual(run.leaks(NGC_KEY), []);
  });

  it('status is read-only and reports health', async () => {
    const before = f.machine.cluster.store.resourceVersion;
    const run = await f.run({ operation: 'status', components: 'mlflow,qdrant' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.deepEqual(statusOf(run).map((s) => [s.component, s.status]), [['mlflow', 'ready'], ['qdrant', 'ready']]);
    assert.equal(run.outputs.changed, 'false');
    const writes = f.machine.cluster.store.resourceVersion - before;
    assert.ok(writes < 5, `status wrote ${writes} objects`);
  });

  it('tunnel lines use the ssh_host and ssh_user inputs over MLABS_SSH_HOST, and a wrong host is refused before anything', async () => {
    const run = await f.run({ operation: 'status', components: 'mlflow,qdrant', ssh_host: 'spark.example.net', ssh_user: 'alice' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal(run.outputs.tunnel, 'ssh -N -L 5000:192.168.49.2:30500 -L 9001:192.168.49.2:30901 -L 6333:192.168.49.2:30633 alice@spark.example.net');
    assert.doesNotMatch(run.summary, /stands for the machine/);
    f.resetCalls();
    const bad = await f.run({ operation: 'status', components: 'mlflow', ssh_host: 'spark;rm -rf' });
    assert.equal(bad.exitCode, 1);
    assert.match(explain(bad), /ssh_host/);
    assert.deepEqual(f.calls(), [], 'refused before minikube or anything else ran');
  });

  it('undeploying nemo uninstalls the helm release and waits for its pods to go', async () => {
    f.resetCalls();
    const run = await f.run({ operation: 'undeploy', components: 'nemo' });
    assert.equal(run.exitCode, 0, explain(run));
    const kc = ['--kubeconfig', f.machine.kubeconfigPath];
    assert.deepEqual(f.calls('helm').map((c) => c.argv), [
      ['list', '--namespace', 'nemo', '--filter', '^nemo$', '--output', 'json', ...kc],
      ['uninstall', 'nemo', '--namespace', 'nemo', '--wait', '--timeout', '120s', ...kc],
    ]);
    assert.equal((await f.kubectl(['get', 'pods,deployments', '-n', 'nemo', '-o', 'name'])).trim(), '');
    assert.deepEqual(statusOf(run).map((s) => [s.component, s.status]), [['nemo', 'removed']]);
  });

  it('undeploy keeps the PVCs; a second deploy reattaches them with their data', async () => {
    await f.kubectl(['annotate', 'pvc', 'qdrant-storage', '-n', 'qdrant', 'mlabs.test/data=collections-v1']);
    const uid = await f.kubectl(['get', 'pvc', 'qdrant-storage', '-n', 'qdrant', '-o', 'jsonpath={.metadata.uid}']);
    const secretBefore = await f.kubectl(['get', 'secret', 'mlflow-minio', '-n', 'mlflow', '-o', 'jsonpath={.data.MINIO_ROOT_PASSWORD}']);
    const down = await f.run({ operation: 'undeploy', components: 'mlflow,qdrant' });
    assert.equal(down.exitCode, 0, explain(down));
    assert.deepEqual(statusOf(down).map((s) => [s.component, s.status]), [['qdrant', 'removed'], ['mlflow', 'removed']]);
    assert.match(statusOf(down)[1]?.health ?? '', /kept PVCs: minio-data, mlflow-db|kept PVCs: mlflow-db, minio-data/);
    assert.equal((await f.kubectl(['get', 'deployments,statefulsets,pods,services', '-n', 'qdrant', '-o', 'name'])).trim(), '');
    assert.match(await f.kubectl(['get', 'pvc', '-n', 'qdrant', '-o', 'name']), /qdrant-storage/);
    const up = await f.run({ operation: 'deploy', components: 'mlflow,qdrant' });
    assert.equal(up.exitCode, 0, explain(up));
    assert.equal(await f.kubectl(['get', 'pvc', 'qdrant-storage', '-n', 'qdrant', '-o', 'jsonpath={.metadata.uid}']), uid);
    assert.equal(await f.kubectl(['get', 'pvc', 'qdrant-storage', '-n', 'qdrant', '-o', 'jsonpath={.metadata.annotations.mlabs\\.test/data}']), 'collections-v1');
    assert.equal(await f.kubectl(['get', 'secret', 'mlflow-minio', '-n', 'mlflow', '-o', 'jsonpath={.data.MINIO_ROOT_PASSWORD}']), secretBefore, 'MinIO keeps its credentials');
  });

  it('purge without a matching confirm is refused and deletes nothing', async () => {
    const before = f.objects().filter((o) => o.startsWith('persistentvolumeclaims/'));
    const run = await f.run({ operation: 'undeploy', components: 'mlflow,qdrant', purge: 'true', confirm: 'mlflow' });
    assert.equal(run.exitCode, 1);
    assert.match(run.main.stdout, /confirm must repeat exactly these component names/);
    assert.deepEqual(f.objects().filter((o) => o.startsWith('persistentvolumeclaims/')), before);
    assert.match(await f.kubectl(['get', 'deployment', 'mlflow', '-n', 'mlflow', '-o', 'name']), /mlflow/);
  });

  it('purge with confirm deletes the namespaces and their data', async () => {
    const run = await f.run({ operation: 'undeploy', components: 'qdrant', purge: 'true', confirm: 'qdrant' });
    assert.equal(run.exitCode, 0, explain(run));
    assert.equal((await f.kubectl(['get', 'namespace', 'qdrant', '--ignore-not-found', '-o', 'name'])).trim(), '');
  });

  it('an image that cannot be pulled fails naming the component and the reason; the others are left as they were', async () => {
    const mlflowState = async (): Promise<string> => [
      await f.kubectl(['get', 'deployment', 'mlflow', 'minio', '-n', 'mlflow', '-o', 'jsonpath={.items[*].metadata.generation}']),
      await f.kubectl(['get', 'pods', '-n', 'mlflow', '-o', 'jsonpath={.items[*].metadata.uid}']),
    ].join(' | ');
    const mlflowBefore = await mlflowState();
    f.kube.failImagePulls('dgx', /qdrant\/qdrant/);
    const run = await f.run({ operation: 'deploy', components: 'mlflow,qdrant' });
    assert.equal(run.exitCode, 1);
    const err = run.main.annotations.find((a) => a.level === 'error')?.message ?? '';
    assert.match(err, /Deploy failed for qdrant: qdrant: pod qdrant-0 cannot start: ImagePullBackOff/);
    const st = statusOf(run);
    assert.deepEqual(st.map((s) => [s.component, s.status]), [['mlflow', 'unchanged'], ['qdrant', 'failed']]);
    assert.equal(await mlflowState(), mlflowBefore, 'MLflow was not touched: same generation, same pods');
  });
});

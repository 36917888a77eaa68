// train-job's MLflow run through its bundle: the experiment found or created and a run created before
// the workload starts (tagged with the GitHub run), MLFLOW_RUN_ID given to the trainer, the run linked
// in the summary and ended by the action when the trainer left it RUNNING (FINISHED, FAILED), left as
// the trainer ended it otherwise; directly at mlflow_tracking_uri, and through the Kubernetes API's
// service proxy to the local stack's MLflow Service when its in-cluster URI does not answer.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, onTestFinished, test } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import type { Json } from '../../scripts/sandbox/kubernetes/store.js';
import { fault, start, train, type Fixture } from './helpers.js';

let f: Fixture;
let mlflowUri: string;
beforeAll(async () => {
  f = await start();
  mlflowUri = f.env.MLFLOW_TRACKING_URI as string;
});
afterAll(async () => f.stop());

const local = { target: 'local', runner_label: 'dgx', image: 'ghcr.io/mlabs/trainer:1.4', command: 'python\ntrain.py' };
const rule = (r: Parameters<typeof fault>[1]): void => fault(f.sb, r, onTestFinished);

interface Run { info: { run_id: string; experiment_id: string; run_name: string; status: string }; data: { tags?: { key: string; value: string }[] } }

async function mlflow<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${mlflowUri}/api/2.0/mlflow/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return (await res.json()) as T;
}
const runOf = async (id: string): Promise<Run> => (await mlflow<{ run: Run }>(`runs/get?run_id=${id}`)).run;
const tagsOf = (r: Run): Record<string, string> => Object.fromEntries((r.data.tags ?? []).map((t) => [t.key, t.value]));

/** The trainer's container env as the Job carried it, read while it ran. */
function watchEnv(name: string): { env: () => Record<string, string>; stop: () => void } {
  let seen: Record<string, string> = {};
  const c = f.dgx.cluster;
  const t = setInterval(() => {
    const job = c.store.get(c.type('batch', 'jobs'), 'default', name);
    const env = ((((job?.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined)?.containers as Json[] | undefined)?.[0]?.env as { name: string; value?: string }[] | undefined;
    if (env) seen = Object.fromEntries(env.map((e) => [e.name, e.value ?? '']));
  }, 10);
  return { env: () => seen, stop: () => clearInterval(t) };
}

describe('at mlflow_tracking_uri', () => {
  test('creates the experiment and a run tagged with the GitHub run, passes MLFLOW_RUN_ID, links the run and ends it FINISHED', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=ml-ok' }, afterMs: 300, exitCode: 0, log: ['loss=0.5'] });
    const w = watchEnv('ml-ok');
    const r = await train(f, { ...local, name: 'ml-ok', mlflow_tracking_uri: mlflowUri }).finally(w.stop);
    assert.equal(r.exitCode, 0, r.main.log);
    const runId = r.outputs.mlflow_run_id ?? '';
    assert.match(runId, /^[0-9a-f]{32}$/);
    const run = await runOf(runId);
    const exp = await mlflow<{ experiment: { experiment_id: string; name: string } }>('experiments/get-by-name?experiment_name=platform');
    assert.equal(exp.experiment.name, 'platform', 'the experiment is the repository name, created');
    assert.equal(run.info.experiment_id, exp.experiment.experiment_id);
    assert.equal(run.info.run_name, 'ml-ok');
    assert.equal(run.info.status, 'FINISHED', 'the trainer left it running; the action ended it');
    const tags = tagsOf(run);
    assert.equal(tags['mlabs.job'], 'default/ml-ok');
    assert.equal(tags['github.repository'], 'mlabs/platform');
    assert.equal(tags['github.run_id'], '1');
    assert.equal(tags['mlflow.source.name'], 'https://github.com/mlabs/platform/actions/runs/1');
    const url = `${mlflowUri}/#/experiments/${exp.experiment.experiment_id}/runs/${runId}`;
    assert.equal(r.outputs.mlflow_run_url, url);
    assert.ok(r.summary.includes(`[run ml-ok](${url}) (${runId}) in experiment platform at ${mlflowUri}; the trainer left it running: ended as FINISHED`), r.summary);
    const env = w.env();
    assert.equal(env.MLFLOW_RUN_ID, runId);
    assert.equal(env.MLFLOW_EXPERIMENT_ID, exp.experiment.experiment_id);
    assert.equal(env.MLFLOW_TRACKING_URI, mlflowUri);
    assert.equal(env.MLFLOW_RUN_NAME, 'ml-ok');
  });

  test('a run the trainer ended itself is left as it is, even when the workload then fails', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=ml-self' }, afterMs: 800, exitCode: 2, log: ['done, exiting badly'] });
    const ended = (async () => {
      // The trainer: finds its run (MLFLOW_RUN_ID) and ends it FINISHED before the pod exits.
      for (let i = 0; i < 200; i++) {
        const exp = await mlflow<{ experiment?: { experiment_id: string } }>('experiments/get-by-name?experiment_name=platform');
        const found = exp.experiment ? await mlflow<{ runs?: Run[] }>('runs/search', { experiment_ids: [exp.experiment.experiment_id], filter: "tags.`mlabs.job` = 'default/ml-self'" }) : {};
        const id = found.runs?.[0]?.info.run_id;
        if (id) return mlflow('runs/update', { run_id: id, status: 'FINISHED', end_time: Date.now() });
        await new Promise((res) => setTimeout(res, 20));
      }
      throw new Error('the run never appeared');
    })();
    const r = await train(f, { ...local, name: 'ml-self', mlflow_tracking_uri: mlflowUri });
    await ended;
    assert.equal(r.exitCode, 1);
    assert.equal((await runOf(r.outputs.mlflow_run_id ?? '')).info.status, 'FINISHED');
    assert.doesNotMatch(r.summary, /ended as/);
  });
});

describe('a re-run', () => {
  test('resumes the run of the same Job that an earlier try left RUNNING instead of making another', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=ml-again' }, afterMs: 300, exitCode: 0, log: ['ok'] });
    let exp = await mlflow<{ experiment?: { experiment_id: string } }>('experiments/get-by-name?experiment_name=platform');
    const experimentId = exp.experiment?.experiment_id ?? (await mlflow<{ experiment_id: string }>('experiments/create', { name: 'platform' })).experiment_id;
    const earlier = await mlflow<{ run: Run }>('runs/create', { experiment_id: experimentId, run_name: 'ml-again', start_time: Date.now() - 60_000, tags: [{ key: 'mlabs.job', value: 'default/ml-again' }] });
    const r = await train(f, { ...local, name: 'ml-again', mlflow_tracking_uri: mlflowUri });
    assert.equal(r.exitCode, 0, r.main.log);
    assert.equal(r.outputs.mlflow_run_id, earlier.run.info.run_id);
    assert.match(r.main.log, /MLflow: resuming run /);
    assert.ok(r.summary.includes(`(${earlier.run.info.run_id}, resumed)`), r.summary);
    exp = await mlflow('experiments/get-by-name?experiment_name=platform');
    const all = await mlflow<{ runs?: Run[] }>('runs/search', { experiment_ids: [exp.experiment?.experiment_id], filter: "tags.`mlabs.job` = 'default/ml-again'" });
    assert.equal(all.runs?.length, 1, 'no second run');
  });
});

describe('the local stack\'s MLflow through the service proxy', () => {
  beforeAll(() => {
    const c = f.dgx.cluster;
    c.createObject(c.type('', 'namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mlflow' } }, 'test');
    c.createObject(c.type('apps', 'deployments'), {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'mlflow', namespace: 'mlflow' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'mlflow' } }, template: { metadata: { labels: { app: 'mlflow' } }, spec: { containers: [{ name: 'mlflow', image: 'ghcr.io/mlflow/mlflow:v2.20.3' }] } } },
    }, 'test');
    c.createObject(c.type('', 'services'), { apiVersion: 'v1', kind: 'Service', metadata: { name: 'mlflow', namespace: 'mlflow' }, spec: { selector: { app: 'mlflow' }, ports: [{ port: 5000 }] } }, 'test');
    // The Service's pod is the sandbox's MLflow.
    kubernetesOf(f.sb).forwardService('dgx', 'mlflow', 'mlflow', mlflowUri);
  });

  test('without mlflow_tracking_uri: the in-cluster URI does not answer, so the run is made through the proxy; a failed workload ends it FAILED', async () => {
    rule({ kind: 'podExit', match: { labelSelector: 'mlabs.dev/train-job=ml-proxy' }, afterMs: 300, exitCode: 3, log: ['CUDA error'] });
    const w = watchEnv('ml-proxy');
    const r = await train(f, { ...local, name: 'ml-proxy' }).finally(w.stop);
    assert.equal(r.exitCode, 1);
    const runId = r.outputs.mlflow_run_id ?? '';
    const run = await runOf(runId);
    assert.equal(run.info.status, 'FAILED');
    assert.equal(w.env().MLFLOW_TRACKING_URI, 'http://mlflow.mlflow.svc.cluster.local:5000', 'the trainer, in the cluster, reaches the Service directly');
    assert.equal(w.env().MLFLOW_RUN_ID, runId);
    assert.match(r.main.log, /MLflow: created run [0-9a-f]{32} \(ml-proxy\) in experiment platform \(\d+\) via the Kubernetes API's service proxy to mlflow\/mlflow:5000/);
    assert.equal(r.outputs.mlflow_run_url, `http://localhost:5000/#/experiments/${run.info.experiment_id}/runs/${runId}`);
    assert.match(r.summary, /reached through the Kubernetes API's service proxy to mlflow\/mlflow:5000, the link through the local stack's tunnel/);
    assert.match(r.summary, /ended as FAILED/);
  });
});

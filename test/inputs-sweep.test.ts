/**
 * The bad-input sweep: every action's every input (from its action.yml) gets malformed values of
 * the kinds its reader checks, one input at a time on top of valid inputs, through the committed
 * bundle. Google, GitHub and Kubernetes point at a recording HTTP server (a fresh one per run) and
 * every program an action could start (docker, helm, kubectl, minikube) is a stand-in that records
 * its call. For every refused value: exit code 1, an `::error::` naming the input, no stack trace,
 * no request and no program started.
 *
 * The table below says per input which kind of value it takes; free-text inputs (paths, titles)
 * say why nothing is refused. A new input without an entry fails the first test.
 */
import { afterAll, beforeAll, test } from 'vitest';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, readActionYaml, runAction, type ActionRun } from './harness.js';
import { sandboxEnv } from '../scripts/sandbox/index.js';

/** What an input takes; `valid` is a value its reader accepts (the malformed ones are built from it). */
type Kind =
  | { kind: 'text'; valid: string; long?: boolean } // one value checked against a pattern
  | { kind: 'enum'; valid: string }
  | { kind: 'list'; valid: string; unique?: boolean } // comma/newline list, each item checked
  | { kind: 'int' }
  | { kind: 'number' }
  | { kind: 'duration' }
  | { kind: 'bool' }
  | { kind: 'email' }
  | { kind: 'secret' } // goes into an HTTP header (or a registry login)
  | { kind: 'zones' }
  | { kind: 'keyvalues' }
  | { kind: 'taints' }
  | { kind: 'labels' }
  | { kind: 'json' }
  | { kind: 'free'; why: string };

interface Entry {
  kind: Kind;
  /** Further values this input must refuse (the cases). */
  extra?: string[];
}

interface ActionTable {
  /** Valid values for the required inputs. */
  base: Record<string, string>;
  inputs: Record<string, Kind | Entry>;
}

const text = (valid: string, long = true): Kind => ({ kind: 'text', valid, long });
const enumOf = (valid: string): Kind => ({ kind: 'enum', valid });
const list = (valid: string, unique = false): Kind => ({ kind: 'list', valid, unique });
const INT: Kind = { kind: 'int' };
const NUMBER: Kind = { kind: 'number' };
const DURATION: Kind = { kind: 'duration' };
const BOOL: Kind = { kind: 'bool' };
const EMAIL: Kind = { kind: 'email' };
const SECRET: Kind = { kind: 'secret' };
const ZONES: Kind = { kind: 'zones' };
const free = (why: string): Kind => ({ kind: 'free', why });

const PROJECT = text('mlabs-sweep');
const LOCATION = text('us-central1');
const NAME = text('mlabs');
const BUCKET = text('mlabs-sweep-snapshots');
const AR_IMAGE = 'us-central1-docker.pkg.dev/mlabs-sweep/runners/app';
const PLAN = join(ROOT, 'test/terraform/fixtures/plan-no-changes.json');
const PROVIDER = 'projects/123456789/locations/global/workloadIdentityPools/github/providers/mlabs';
const POOL_BASE = { location: 'us-central1', cluster: 'mlabs', pool: 'gpu' };

const TABLES: Record<string, ActionTable> = {
  'cost-cleanup': {
    base: { location: 'us-central1', cluster: 'mlabs', bucket: 'mlabs-sweep-snapshots' },
    inputs: {
      mode: enumOf('report'),
      project_id: PROJECT,
      location: LOCATION,
      cluster: NAME,
      bucket: BUCKET,
      terraform_state_bucket: text('mlabs-sweep-tfstate'),
      idle_minutes: INT,
      disk_days: INT,
      snapshot_days: INT,
      images: list(AR_IMAGE, true),
      image_keep: INT,
      image_min_age_days: INT,
      image_protect_tags: list('latest'),
      protect: list('gpu-*'),
      system_pools: list('system'),
      kubeconfig: free('a path: a wrong one fails when the file is read'),
      timeout: DURATION,
    },
  },
  'gpu-capacity': {
    base: { accelerator_type: 'nvidia-l4' },
    inputs: { project_id: PROJECT, accelerator_type: enumOf('nvidia-l4'), count: INT, regions: list('us-central1', true), spot: BOOL, require_fit: BOOL },
  },
  'gpu-quota': {
    base: { region: 'us-central1', gpu_family: 'nvidia-l4', count: '4', contact_email: 'gpu-admins@example.com' },
    inputs: {
      mode: enumOf('ensure'),
      project_id: PROJECT,
      region: LOCATION,
      gpu_family: enumOf('nvidia-l4'),
      spot: BOOL,
      count: INT,
      justification: free('free text for Google reviewers (only its length is limited)'),
      contact_email: EMAIL,
      wait: DURATION,
      poll_interval: DURATION,
      fail_on_pending: BOOL,
    },
  },
  'image-build': {
    base: { image: AR_IMAGE },
    inputs: {
      image: text(AR_IMAGE, false),
      context: free('a directory: a wrong one fails in docker buildx'),
      file: free('a path: a wrong one fails in docker buildx'),
      platform: text('linux/amd64', false),
      allow_emulation: BOOL,
      build_args: { kind: 'keyvalues' },
      labels: { kind: 'keyvalues' },
      version: free('the value of a label'),
      cache: BOOL,
      cache_ref: text(`${AR_IMAGE}:buildcache`, false),
      provenance: enumOf('mode=max'),
      sbom: BOOL,
      builder: text('mlabs', false),
      username: text('ci-user', false),
      password: SECRET,
    },
  },
  'image-merge': {
    base: { image: AR_IMAGE, digests: `sha256:${'a'.repeat(64)}`, tags: 'v1' },
    inputs: {
      image: text(AR_IMAGE, false),
      digests: list(`sha256:${'a'.repeat(64)}`),
      tags: list('v1', true),
      platforms: list('linux/amd64', true),
      username: text('ci-user', false),
      password: SECRET,
    },
  },
  'image-prune': {
    base: { image: AR_IMAGE },
    inputs: { image: text(AR_IMAGE, false), keep: INT, min_age_days: INT, protect_tags: list('latest'), check_references: BOOL, dry_run: BOOL },
  },
  'cluster-operators': {
    base: { location: 'us-central1', cluster: 'mlabs' },
    inputs: {
      operation: enumOf('status'),
      operators: list('jobset', true),
      purge: BOOL,
      confirm: free('compared with the operators only when purge is true'),
      project_id: PROJECT,
      location: LOCATION,
      cluster: NAME,
      timeout: DURATION,
    },
  },
  'local-stack': {
    base: { operation: 'status' },
    inputs: {
      operation: enumOf('status'),
      components: list('qdrant', true),
      profile: text('dgx'),
      ollama_models: list('llama3.2:3b'),
      nim_model: text('meta/llama-3.1-8b-instruct:1.3.3', false),
      ngc_api_key: SECRET,
      purge: BOOL,
      confirm: free('compared with the components only when purge is true'),
      timeout: DURATION,
      kubeconfig: free('a path: a wrong one fails when kubectl reads it'),
      ssh_host: text('dgx.lab.internal'),
      ssh_user: text('alice'),
    },
  },
  'node-pool-destroy': {
    base: { ...POOL_BASE, bucket: 'mlabs-sweep-snapshots' },
    inputs: { project_id: PROJECT, location: LOCATION, cluster: NAME, pool: text('gpu'), bucket: BUCKET, snapshot: BOOL, force: BOOL, timeout: DURATION },
  },
  'node-pool-expand': {
    base: { ...POOL_BASE, accelerator_type: 'nvidia-l4' },
    inputs: {
      project_id: PROJECT,
      service_account: text('mlabs-nodes@mlabs-sweep.iam.gserviceaccount.com'),
      location: LOCATION,
      cluster: NAME,
      pool: text('gpu'),
      accelerator_type: enumOf('nvidia-l4'),
      accelerator_count: { kind: INT, extra: ['3', '16'] },
      machine_type: { kind: text('g2-standard-4'), extra: ['g2-standard-24', 'e2-standard-4', 'n1-standard-4', 'a2-highgpu-1g', 'g2-bogus-4'] },
      node_count: INT,
      min_nodes: INT,
      max_nodes: INT,
      spot: BOOL,
      disk_size_gb: INT,
      disk_type: { kind: enumOf('pd-balanced'), extra: ['pd-bogus'] },
      taints: { kind: 'taints' },
      labels: { kind: 'labels' },
      gpu_driver: enumOf('default'),
      zones: ZONES,
      ensure_quota: BOOL,
      quota_contact_email: EMAIL,
      quota_justification: free('free text for Google reviewers'),
      timeout: DURATION,
    },
  },
  'model-promote': {
    base: { model: 'models:/sweep-model/1' },
    inputs: {
      model: { kind: text('models:/sweep-model/1', false), extra: ['runs:/abc/model', 'models:/m', 'gs://b/m/1/'] },
      destination: { kind: text('gs://mlabs-sweep-models/m/1/', false), extra: ['gs://mlabs-sweep-models'] },
      data_class: enumOf('internal'),
      allow: list('eval/*.csv'),
      parallel: INT,
      chunk_mib: INT,
      project_id: PROJECT,
      mlflow_tracking_uri: text('http://mlflow.local:5000', false),
      s3_endpoint: text('http://minio.local:9000', false),
      timeout: DURATION,
    },
  },
  'model-retire': {
    base: { model: 'models:/sweep-model/1', location: 'us-central1', cluster: 'mlabs' },
    inputs: {
      model: { kind: text('models:/sweep-model/1', false), extra: ['s3://b/m/'] },
      uri: { kind: text('gs://mlabs-sweep-models/m/1/', false), extra: ['gs://mlabs-sweep-models'] },
      project_id: PROJECT,
      location: LOCATION,
      cluster: NAME,
      kubeconfig: free('a path: a wrong one fails when it is read'),
      mlflow_tracking_uri: text('http://mlflow.local:5000', false),
      timeout: DURATION,
    },
  },
  'model-serve': {
    base: { name: 'tiny-chat', model_uri: 'gs://mlabs-sweep-models/m/1/', location: 'us-central1', cluster: 'mlabs' },
    inputs: {
      service_account: text('mlabs-nodes@mlabs-sweep.iam.gserviceaccount.com'),
      verb: enumOf('deploy'),
      target: enumOf('cloud'),
      runtime: enumOf('ollama'),
      local_model: { kind: text('llama3.2:3b'), extra: ['gs://mlabs-sweep-models/m/1/', 'https://example.com/m.gguf', '/models/m.gguf', 'Llama 3'] },
      ngc_api_key: SECRET,
      kubeconfig: free('a path: a wrong one fails when kubectl reads it'),
      ssh_host: text('dgx.lab.internal'),
      ssh_user: text('alice'),
      purge: { kind: BOOL, extra: ['true'] },
      confirm: free('compared with the served model only on an undeploy with purge'),
      model_uri: { kind: text('gs://mlabs-sweep-models/m/1/', false), extra: ['gs://mlabs-sweep-models'] },
      name: text('tiny-chat'),
      namespace: text('serving'),
      served_model_name: text('tiny-chat'),
      accelerator: { kind: enumOf('nvidia-l4'), extra: ['nvidia-bogus'] },
      accelerator_count: INT,
      replicas: INT,
      max_model_len: { kind: INT, extra: ['64'] },
      vllm_args: list('--gpu-memory-utilization=0.9'),
      service_type: enumOf('cluster-ip'),
      pool: text('serve-gpu'),
      create_pool: BOOL,
      snapshot_bucket: BUCKET,
      project_id: PROJECT,
      location: LOCATION,
      cluster: NAME,
      timeout: DURATION,
    },
  },
  'node-pool-restore': {
    base: { ...POOL_BASE, bucket: 'mlabs-sweep-snapshots' },
    inputs: {
      project_id: PROJECT,
      service_account: text('mlabs-nodes@mlabs-sweep.iam.gserviceaccount.com'),
      location: LOCATION,
      cluster: NAME,
      pool: text('gpu'),
      bucket: BUCKET,
      snapshot: { kind: text('latest', false), extra: ['gs://bkt', 'gs://bkt/', 'gs://Bad_Bucket/node-pools/a.json', 'LATEST'] },
      zones: ZONES,
      replace: BOOL,
      timeout: DURATION,
    },
  },
  'node-pool-snapshot': {
    base: { ...POOL_BASE, bucket: 'mlabs-sweep-snapshots' },
    inputs: { project_id: PROJECT, location: LOCATION, cluster: NAME, pool: text('gpu'), bucket: BUCKET, timeout: DURATION },
  },
  'project-archive': {
    base: { github_token: 'ghs_sweepToken0123456789abcdef', repository: 'mlabs/sweep-project', platform_repository: 'mlabs/platform' },
    inputs: {
      repository: text('mlabs/sweep-project'),
      trust: enumOf('pull-request'),
      workload_identity_provider: text(PROVIDER, false),
      service_account: text('mlabs-ci@mlabs-sweep.iam.gserviceaccount.com'),
      platform_repository: text('mlabs/platform', false),
      github_token: SECRET,
    },
  },
  'project-create': {
    base: { github_token: 'ghs_sweepToken0123456789abcdef', repository: 'mlabs/sweep-project', platform_repository: 'mlabs/platform' },
    inputs: {
      repository: text('mlabs/sweep-project'),
      visibility: enumOf('private'),
      template: enumOf('kfp-finetune'),
      template_repository: text('mlabs/template'),
      description: free('one line of any text (GitHub descriptions take Unicode); a line break or over 350 characters is refused'),
      grants: list('team:ml-team=push'),
      allow_cloud: BOOL,
      data_class: enumOf('sensitive'),
      train_image: text('us-central1-docker.pkg.dev/p/apps/x:1'),
      topics: list('ml'),
      trust: enumOf('pull-request'),
      workload_identity_provider: text(PROVIDER, false),
      service_account: text('mlabs-ci@mlabs-sweep.iam.gserviceaccount.com'),
      platform_repository: text('mlabs/platform', false),
      github_token: SECRET,
    },
  },
  'route-job': {
    base: { github_token: 'ghs_sweepToken0123456789abcdef', repository: 'mlabs/platform' },
    inputs: {
      gpu_memory_gb: NUMBER,
      gpus: INT,
      arch: enumOf('any'),
      data_class: enumOf('internal'),
      max_queued_jobs: INT,
      max_queue_minutes: INT,
      allow_cloud: BOOL,
      max_hourly_usd: NUMBER,
      cloud_accelerator: enumOf('nvidia-l4'),
      cloud_gpus: { kind: INT, extra: ['3', '5', '16'] },
      cloud_runner_label: text('wsl2'),
      org_runners: enumOf('auto'),
      machines: { kind: 'json' },
      github_token: SECRET,
      repository: text('mlabs/platform', false),
    },
  },
  'train-job': {
    base: { target: 'local', image: 'ghcr.io/mlabs/trainer:1' },
    inputs: {
      target: enumOf('local'),
      runner_label: text('dgx'),
      cloud_accelerator: enumOf('nvidia-l4'),
      cloud_gpus: INT,
      pool: text('gpu'),
      project_id: PROJECT,
      location: LOCATION,
      cluster: NAME,
      kubeconfig: free('a path: a wrong one fails when the file is read'),
      image: text('ghcr.io/mlabs/trainer:1'),
      command: { kind: free('one argument per line, kept as written'), extra: ['["python", 1]', '[python'] },
      args: { kind: free('one argument per line, kept as written'), extra: ['[1, 2]'] },
      env: { kind: 'keyvalues' },
      gpus: INT,
      nodes: INT,
      cpu: text('8', false),
      memory: text('32Gi', false),
      namespace: text('default'),
      name: text('run-1'),
      timeout: DURATION,
      schedule_timeout: DURATION,
      cleanup: enumOf('always'),
      ttl_seconds_after_finished: INT,
      queue: text('team-a'),
      engine: enumOf('batch'),
      mlflow_tracking_uri: text('http://mlflow:5000', false),
    },
  },
  'terraform-plan-summary': {
    base: { plan_json: PLAN },
    inputs: { plan_json: free('a path: a wrong one fails when it is read'), allow_destroy: BOOL, protect: list('google_storage_bucket.tfstate'), title: free('the heading of the summary') },
  },
  'wif-login': {
    base: { workload_identity_provider: PROVIDER },
    inputs: {
      workload_identity_provider: text(PROVIDER, false),
      service_account: text('ci@mlabs-sweep.iam.gserviceaccount.com'),
      audience: text('https://iam.googleapis.com/x', false),
      project_id: PROJECT,
      token_format: enumOf('access_token'),
      access_token_lifetime: DURATION,
      access_token_scopes: list('https://www.googleapis.com/auth/cloud-platform'),
      id_token_audience: text('https://svc.example.com', false),
      id_token_include_email: BOOL,
      create_credentials_file: BOOL,
      export_environment_variables: BOOL,
      cleanup_credentials: BOOL,
      diagnose: BOOL,
    },
  },
};

/** The malformed values of a kind, generic enough to be wrong for every input of that kind. */
function badValues(k: Kind, required: boolean): string[] {
  const blank = required ? ['  \t '] : [];
  switch (k.kind) {
    case 'text':
      return [`${k.valid}\n${k.valid}`, `${k.valid}é`, ...(k.long ? [k.valid.repeat(Math.ceil(300 / k.valid.length))] : []), ...blank];
    case 'enum':
      return ['banana', `${k.valid}é`, ...blank];
    case 'list':
      return [`${k.valid},has space`, `${k.valid},é`, ...(k.unique ? [`${k.valid},${k.valid}`] : []), ...blank];
    case 'int':
      return ['-1', '99999999999999999999', ...blank];
    case 'number':
      return ['-1', '1e9999', '99999999999', ...blank];
    case 'duration':
      return ['soon', '99999h', ...blank];
    case 'bool':
      return ['yes', 'No', '0'];
    case 'email':
      return ['nobody', 'a@example.com\nb', 'é@example.com'];
    case 'secret':
      return ['abcd\nefgh-secret-part', 'tokén-secret-1234'];
    case 'zones':
      return ['us-central1-a,us-central1-a', 'europe-west4-a', 'us-central1-a,bogus', 'auto,us-central1-a'];
    case 'keyvalues':
      return ['NOEQUALS', 'é=1', 'A=1\nnot a pair'];
    case 'taints':
      return ['bad', 'a=b:Sometimes', 'é=x:NoSchedule'];
    case 'labels':
      return ['noequals', 'é=x', 'a=b c'];
    case 'json':
      return ['[', '[{"label":"x"}]'];
    case 'free':
      return [];
  }
}

/** Combinations the issue found reaching the API; `input` is the one the error must name. */
const COMBINATIONS: { action: string; inputs: Record<string, string>; input: string; message: RegExp }[] = [
  { action: 'node-pool-expand', inputs: { accelerator_count: '8', machine_type: 'g2-standard-4' }, input: 'machine_type', message: /g2-standard-4 carries exactly 1 nvidia-l4 GPU, not accelerator_count 8 \(for 8 use g2-standard-96/ },
  { action: 'node-pool-expand', inputs: { accelerator_type: 'nvidia-tesla-t4', machine_type: 'g2-standard-4' }, input: 'machine_type', message: /carries nvidia-l4 GPUs, not nvidia-tesla-t4/ },
  { action: 'node-pool-expand', inputs: { accelerator_type: 'nvidia-tesla-t4', accelerator_count: '2', machine_type: 'e2-standard-4' }, input: 'machine_type', message: /E2 machine types take no GPU/ },
  { action: 'node-pool-expand', inputs: { accelerator_count: '3' }, input: 'accelerator_count', message: /a nvidia-l4 node carries 1, 2, 4 or 8 GPUs/ },
  { action: 'node-pool-expand', inputs: { accelerator_type: 'nvidia-tesla-a100', accelerator_count: '16', machine_type: 'a2-highgpu-8g' }, input: 'machine_type', message: /a2-highgpu-8g carries exactly 8/ },
  { action: 'node-pool-expand', inputs: { node_count: '9', max_nodes: '2' }, input: 'node_count', message: /from min_nodes \(0\) to max_nodes \(2\)/ },
  { action: 'node-pool-expand', inputs: { min_nodes: '5', max_nodes: '2' }, input: 'min_nodes', message: /at most max_nodes \(2\)/ },
  { action: 'node-pool-expand', inputs: { disk_type: 'banana' }, input: 'disk_type', message: /"pd-balanced", "pd-ssd", "pd-standard", "hyperdisk-balanced"/ },
  { action: 'node-pool-expand', inputs: { location: 'us-central1-b', zones: 'us-east4-a' }, input: 'zones', message: /zone us-east4-a is not in the cluster's region us-central1/ },
  { action: 'node-pool-restore', inputs: { zones: 'us-central1-a,us-central1-a' }, input: 'zones', message: /us-central1-a is listed twice/ },
  { action: 'node-pool-restore', inputs: { snapshot: 'gs://bkt' }, input: 'snapshot', message: /"latest" or the gs:\/\/BUCKET\/OBJECT URI/ },
  { action: 'route-job', inputs: { cloud_gpus: '3' }, input: 'cloud_gpus', message: /a nvidia-l4 node carries 1, 2, 4 or 8 GPUs/ },
  { action: 'route-job', inputs: { github_token: 'ghp_first\nghp_second' }, input: 'github_token', message: /contains a line break; it is sent in an HTTP header/ },
  { action: 'route-job', inputs: { github_token: 'ghp_tokén' }, input: 'github_token', message: /contains a non-ASCII character/ },
  { action: 'train-job', inputs: { target: 'cloud', cloud_accelerator: 'nvidia-l4', cloud_gpus: '3' }, input: 'cloud_gpus', message: /a nvidia-l4 node carries 1, 2, 4 or 8 GPUs/ },
  { action: 'train-job', inputs: { target: 'cloud' }, input: 'cloud_accelerator', message: /is empty: this input is required/ },
  { action: 'train-job', inputs: { cluster: 'mlabs' }, input: 'location', message: /is empty: this input is required/ },
  { action: 'model-serve', inputs: { target: 'local', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct:1.3.3', model_uri: '' }, input: 'ngc_api_key', message: /is empty: this secret is required for runtime nim/ },
  { action: 'model-serve', inputs: { target: 'local', runtime: 'nim', local_model: 'meta/llama-3.1-8b-instruct', model_uri: '' }, input: 'local_model', message: /for runtime nim, the NIM image under nvcr.io\/nim as org\/model:tag/ },
  { action: 'model-serve', inputs: { target: 'local', local_model: 'llama3.2:3b' }, input: 'model_uri', message: /applies to target: cloud/ },
  { action: 'model-serve', inputs: { target: 'local', model_uri: '', local_model: '' }, input: 'local_model', message: /deploy with runtime ollama needs an Ollama model name/ },
  { action: 'gpu-capacity', inputs: { spot: 'Yes' }, input: 'spot', message: /^Input "spot" is "Yes": expected true or false/ },
];

function entryOf(spec: Kind | Entry): Entry {
  return typeof spec.kind === 'object' ? (spec as Entry) : { kind: spec as Kind };
}

interface Case {
  action: string;
  input: string;
  value: string;
  inputs: Record<string, string>;
  message?: RegExp;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [action, table] of Object.entries(TABLES)) {
    const yml = readActionYaml(join(ROOT, 'actions', action)) as { inputs?: Record<string, { required?: boolean }> };
    for (const [input, spec] of Object.entries(table.inputs)) {
      const entry = entryOf(spec);
      for (const value of [...badValues(entry.kind, yml.inputs?.[input]?.required === true), ...(entry.extra ?? [])]) {
        out.push({ action, input, value, inputs: { ...table.base, [input]: value } });
      }
    }
  }
  for (const c of COMBINATIONS) out.push({ action: c.action, input: c.input, value: c.inputs[c.input] ?? '', inputs: { ...TABLES[c.action]?.base, ...c.inputs }, message: c.message });
  return out;
}

/** A server that answers 404 to anything and remembers what it was asked. */
async function recorder(): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":404,"message":"recorded","status":"NOT_FOUND"}}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
const TOOLS = ['docker', 'helm', 'kubectl', 'minikube', 'terraform', 'skopeo', 'gcloud', 'gke-gcloud-auth-plugin'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlabs-sweep-'));
  mkdirSync(join(dir, 'bin'));
  for (const tool of TOOLS) {
    writeFileSync(join(dir, 'bin', tool), `#!/bin/sh\necho "${tool} $*" >> "$MLABS_SWEEP_CALLS"\nexit 1\n`);
    chmodSync(join(dir, 'bin', tool), 0o755);
  }
  writeFileSync(join(dir, 'token'), 'ya29.sweep-access-token');
  mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runCase(c: Case, n: number): Promise<{ run: ActionRun; requests: string[]; calls: string }> {
  const rec = await recorder();
  const calls = join(dir, `calls-${n}`);
  writeFileSync(calls, '');
  const kubeconfig = join(dir, `kubeconfig-${n}`);
  writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${rec.url}/kube"}}]\nusers: [{name: u, user: {token: sweep}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
  try {
    const run = await runAction(c.action, {
      inputs: { ...(c.action === 'cost-cleanup' || c.action === 'local-stack' ? { kubeconfig } : {}), ...c.inputs },
      env: {
        ...sandboxEnv(rec.url, join(dir, 'token'), { projectId: 'mlabs-sweep', region: 'us-central1' }, 'sweep-runner-token'),
        PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
        HOME: join(dir, 'home'),
        KUBECONFIG: kubeconfig,
        MLABS_SWEEP_CALLS: calls,
        MLABS_RETRY_BASE_MS: '0',
        RUNNER_TOOL_CACHE: join(dir, 'toolcache'),
      },
      post: false,
    });
    rmSync(run.workspace, { recursive: true, force: true });
    rmSync(run.runnerTemp, { recursive: true, force: true });
    return { run, requests: [...rec.requests], calls: readFileSync(calls, 'utf8') };
  } finally {
    await rec.close();
    rmSync(calls, { force: true });
    rmSync(kubeconfig, { force: true });
  }
}

/** Why a run is not the clean refusal the sweep expects, or undefined. */
function problems(c: Case, r: { run: ActionRun; requests: string[]; calls: string }): string[] {
  const out: string[] = [];
  const errors = r.run.main.annotations.filter((a) => a.level === 'error').map((a) => a.message);
  if (r.run.exitCode === 0) out.push('exit code 0 (the value was accepted)');
  if (!errors.some((m) => m.startsWith(`Input "${c.input}"`))) out.push(`no ::error:: naming the input (errors: ${JSON.stringify(errors)})`);
  if (c.message && !errors.some((m) => c.message?.test(m))) out.push(`no ::error:: matching ${c.message}`);
  if (STACK.test(r.run.main.stdout) || STACK.test(r.run.main.stderr)) out.push('a stack trace in the output');
  if (r.requests.length) out.push(`requests: ${r.requests.join(', ')}`);
  if (r.calls.trim()) out.push(`programs started: ${r.calls.trim().split('\n').join('; ')}`);
  const spec = TABLES[c.action]?.inputs[c.input];
  const kind = spec ? entryOf(spec).kind.kind : undefined;
  if (kind === 'secret') {
    for (const part of c.value.split('\n').filter((p) => p.length >= 4)) {
      const places = r.run.leaks(part);
      if (places.length) out.push(`the secret appears in ${places.join(', ')}`);
    }
  } else if (kind === 'bool' && !errors.some((m) => m.includes(`is ${JSON.stringify(c.value)}`))) {
    out.push('the ::error:: does not show the value as given');
  }
  return out;
}

test('the sweep table has an entry for every input of every action, and no other', () => {
  const actions = readdirSync(join(ROOT, 'actions')).filter((d) => existsSync(join(ROOT, 'actions', d, 'action.yml'))).sort();
  assert.deepEqual(Object.keys(TABLES).sort(), actions);
  for (const action of actions) {
    const declared = Object.keys(readActionYaml(join(ROOT, 'actions', action)).inputs ?? {}).sort();
    assert.deepEqual(Object.keys(TABLES[action]?.inputs ?? {}).sort(), declared, `${action}: the sweep's inputs differ from action.yml`);
  }
});

test('every malformed input value is refused before any request, naming the input, without a stack trace', async () => {
  const all = cases();
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const n = next++;
      const c = all[n] as Case;
      const r = await runCase(c, n);
      const p = problems(c, r);
      if (p.length) failures.push(`${c.action} ${c.input}=${JSON.stringify(c.value)}: ${p.join('; ')}`);
    }
  };
  await Promise.all(Array.from({ length: 3 }, worker));
  // The size of the sweep, for the record.
  console.log(`inputs sweep: ${all.length} runs over ${Object.keys(TABLES).length} actions`);
  assert.ok(all.length >= 300 && all.length <= 800, `the sweep has ${all.length} runs`);
  assert.deepEqual(failures, []);
});

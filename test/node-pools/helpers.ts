/** Shared set-up for the node-pool tests: a sandbox, the actions' env, gcloud against it. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runAction, type ActionRun } from '../harness.js';
import { startSandbox, type RequestLogEntry, type Sandbox } from '../../scripts/sandbox/index.js';

const exec = promisify(execFile);

export const CLUSTER = 'mlabs';
export const LOCATION = 'us-central1';
export const BUCKET = 'mlabs-demo-nodepool-snapshots';

export async function sandbox(): Promise<{ sb: Sandbox; env: Record<string, string> }> {
  const sb = await startSandbox({ port: 0, operationMs: 40 });
  const env = { ...sb.env, MLABS_RETRY_BASE_MS: '5', MLABS_OPERATION_POLL_MS: '15', CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'gcloud-')) };
  return { sb, env };
}

/** The platform's node service account (terraform/modules/iam): the one account CI may run pools as. */
export const NODE_SA = 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com';

/** Run a node-pool action as the workflows do (as the CI account; expand and restore with service_account). */
export function run(name: string, env: Record<string, string>, inputs: Record<string, string | number | boolean>): Promise<ActionRun> {
  const sa: Record<string, string> = name === 'node-pool-expand' || name === 'node-pool-restore' ? { service_account: NODE_SA } : {};
  return runAction(name, { env, inputs: { location: LOCATION, cluster: CLUSTER, ...sa, ...inputs } });
}

/** `gcloud container node-pools describe POOL --format=json` against the sandbox; undefined when absent. */
export async function describe(env: Record<string, string>, pool: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { stdout } = await exec('gcloud', ['container', 'node-pools', 'describe', pool, '--cluster', CLUSTER, '--location', LOCATION, '--format=json'], {
      env: { ...process.env, ...env },
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (/not found|NOT_FOUND|404/i.test(text)) return undefined;
    throw err;
  }
}

/** The pools in the sandbox's own state. */
export function pools(sb: Sandbox): Array<Record<string, unknown>> {
  const st = sb.state.container as { clusters: Array<{ name: string; nodePools?: Array<Record<string, unknown>> }> };
  return st.clusters.find((c) => c.name === CLUSTER)?.nodePools ?? [];
}

export function errorText(r: ActionRun): string {
  return r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
}

/** Write an object into the sandbox bucket (as a test's own set-up, not through the actions). */
export async function putObject(sb: Sandbox, bucket: string, name: string, text: string): Promise<void> {
  const res = await fetch(`${sb.url}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json' },
    body: text,
  });
  if (!res.ok) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
}

export async function getText(sb: Sandbox, bucket: string, name: string): Promise<string> {
  const res = await fetch(`${sb.url}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?alt=media`, { headers: { authorization: `Bearer ${sb.accessToken}` } });
  if (!res.ok) throw new Error(`download ${name}: ${res.status}`);
  return res.text();
}

export const L4 = { pool: 'gpu-l4', accelerator_type: 'nvidia-l4', accelerator_count: 1, node_count: 1 };

/**
 * Run an action while the sandbox's operations are held (the caller paused them and started one),
 * and let them finish only once the sandbox has seen the request `release` accepts, or the action
 * has ended: whatever the action does about a running operation, it meets it running.
 */
export async function runWhileHeld(sb: Sandbox, release: (q: RequestLogEntry) => boolean, start: () => Promise<ActionRun>): Promise<ActionRun> {
  let done = false;
  const action = start().finally(() => (done = true));
  try {
    while (!done && !sb.requests.some(release)) await new Promise((r) => setTimeout(r, 10));
  } finally {
    sb.ctx.operations.resume();
  }
  return action;
}

/** Call the sandbox's GKE API directly (as another client, or a run that was killed, would have). */
export async function gke(sb: Sandbox, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${sb.url}/container/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${sb.accessToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** `projects/mlabs-demo/locations/us-central1/clusters/mlabs/nodePools[/POOL]` */
export const poolPath = (pool = ''): string => `projects/mlabs-demo/locations/${LOCATION}/clusters/${CLUSTER}/nodePools${pool ? `/${pool}` : ''}`;

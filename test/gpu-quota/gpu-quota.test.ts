// gpu-quota through its bundle against the sandbox's Cloud Quotas + Compute (one sandbox for the file;
// each test starts from the seed's quotas with no preferences).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import type { QuotaEntry, QuotaReview } from '../../scripts/sandbox/quota.js';
import { runAction, type ActionRun } from '../harness.js';
import { GPU_TYPES } from '../../actions/lib/gpu.js';

let sb: Sandbox;
let seedEntries: QuotaEntry[];
let seedDefaults: unknown;

beforeAll(async () => {
  sb = await startSandbox({ operationMs: 50 });
  seedEntries = structuredClone(sb.ctx.quota.entries());
  seedDefaults = structuredClone(sb.ctx.quota.seed.defaults);
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  sb.faults.clear();
  const live = sb.ctx.quota.entries();
  live.splice(0, live.length, ...structuredClone(seedEntries));
  sb.ctx.quota.seed.defaults = structuredClone(seedDefaults) as typeof sb.ctx.quota.seed.defaults;
  prefs().splice(0);
});

type Json = Record<string, unknown>;
const PROJECT = 'mlabs-demo';
const prefs = (): Json[] => (sb.state.cloudquotas as { preferences: Json[] }).preferences;
const GLOBAL = 'GPUS_ALL_REGIONS';

function entry(metric: string, region?: string): QuotaEntry {
  const e = sb.ctx.quota.find(metric, region);
  assert.ok(e, `seed has ${metric} ${region ?? 'global'}`);
  return e;
}
function setQuota(metric: string, region: string | undefined, patch: { limit?: number; usage?: number; autoGrantCeiling?: number; review?: QuotaReview }): void {
  Object.assign(entry(metric, region), patch);
}

function run(inputs: Record<string, string | number | boolean>): Promise<ActionRun> {
  return runAction('gpu-quota', {
    inputs: { contact_email: 'gpu-admins@example.com', poll_interval: '1s', wait: '0', ...inputs },
    env: { ...sb.env, MLABS_RETRY_BASE_MS: '1' },
  });
}

/** Requests the sandbox saw since `from` (an index into sb.requests) for these RPCs. */
function calls(from: number, ...rpcs: string[]): Json[] {
  return sb.requests.slice(from).filter((r) => rpcs.includes(String(r.rpc))) as unknown as Json[];
}
const writes = (from: number): Json[] => calls(from, 'CreateQuotaPreference', 'UpdateQuotaPreference');

function quotasOutput(r: ActionRun): Json[] {
  return JSON.parse(r.outputs.quotas ?? '[]') as Json[];
}
function errorOf(r: ActionRun): string {
  return r.main.annotations.find((a) => a.level === 'error')?.message ?? '';
}
const ok = (r: ActionRun): void => assert.equal(r.exitCode, 0, `${errorOf(r)}\n${r.main.stdout}\n${r.main.stderr}`);

describe('ensure', () => {
  test('both quotas already allow the count: says so and writes no preference', async () => {
    const from = sb.requests.length;
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 4 });
    ok(r);
    assert.equal(r.outputs.state, 'sufficient');
    assert.equal(r.outputs.regional_state, 'sufficient');
    assert.equal(r.outputs.global_state, 'sufficient');
    assert.equal(r.outputs.regional_limit, '8');
    assert.equal(r.outputs.global_limit, '12');
    assert.equal(r.outputs.regional_preference, '');
    assert.deepEqual(writes(from), [], 'no preference written');
    assert.equal(prefs().length, 0);
    // It read both quotas from Cloud Quotas and the usage from Compute.
    assert.ok(calls(from, 'GetQuotaInfo').length >= 2);
    assert.ok(calls(from, 'Get').some((c) => String(c.path).endsWith('/regions/us-central1')));
    assert.match(r.summary, /\| Quota \| Region \| Usage \| Old limit \| Requested \| Granted \| State \|/);
    assert.match(r.summary, /\| NVIDIA-L4-GPUS-per-project-region \| us-central1 \| 0 \| 8 \| — \| — \| sufficient \|/);
    assert.match(r.summary, /\| GPUS-ALL-REGIONS-per-project \| all regions \| 0 \| 12 \| — \| — \| sufficient \|/);
    assert.match(r.main.stdout, /already allow 4/);
  });

  test('regional quota short only, auto-granted: one preference, filed with the contact email, granted at once', async () => {
    const from = sb.requests.length;
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 12, justification: 'training runs' });
    ok(r);
    assert.equal(r.outputs.state, 'granted');
    assert.equal(r.outputs.regional_state, 'granted');
    assert.equal(r.outputs.global_state, 'sufficient');
    assert.equal(r.outputs.regional_granted_value, '12');
    assert.equal(r.outputs.global_granted_value, '');
    assert.equal(r.outputs.regional_limit, '12');
    assert.equal(r.outputs.regional_preference, `projects/${PROJECT}/locations/global/quotaPreferences/mlabs-nvidia-l4-gpus-us-central1`);
    assert.equal(writes(from).length, 1);
    assert.equal(prefs().length, 1);
    const p = prefs()[0] as Json;
    assert.equal(p.quotaId, 'NVIDIA-L4-GPUS-per-project-region');
    assert.deepEqual(p.dimensions, { region: 'us-central1' });
    assert.equal(p.justification, 'training runs');
    const cfg = p.quotaConfig as Json;
    assert.equal(String(cfg.preferredValue), '12');
    assert.deepEqual(cfg.annotations, { 'mlabs-managed-by': 'mlabs-actions', 'mlabs-original-limit': '8' });
    assert.equal(entry('NVIDIA_L4_GPUS', 'us-central1').limit, 12, 'the ledger (Compute and Cloud Quotas) shows the new limit');
    const q = quotasOutput(r);
    assert.equal(q[0]?.old_limit, 8);
    assert.equal(q[0]?.requested, 12);
    assert.match(r.summary, /\| NVIDIA-L4-GPUS-per-project-region \| us-central1 \| 0 \| 8 \| 12 \| 12 \| granted \|/);
  });

  test('global quota short only: only the all-regions preference is filed, and the step waits for the review', async () => {
    setQuota(GLOBAL, undefined, { limit: 4, autoGrantCeiling: 0, review: { decision: 'grant', delayMs: 1200 } });
    const from = sb.requests.length;
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 6, wait: '30s' });
    ok(r);
    assert.equal(r.outputs.state, 'granted');
    assert.equal(r.outputs.regional_state, 'sufficient');
    assert.equal(r.outputs.global_state, 'granted');
    assert.equal(r.outputs.global_granted_value, '6');
    assert.equal(r.outputs.global_preference, `projects/${PROJECT}/locations/global/quotaPreferences/mlabs-gpus-all-regions`);
    assert.equal(writes(from).length, 1);
    const p = prefs()[0] as Json;
    assert.equal(p.quotaId, 'GPUS-ALL-REGIONS-per-project');
    assert.deepEqual(p.dimensions ?? {}, {});
    assert.ok(calls(from, 'GetQuotaPreference').length >= 2, 'polled the preference until decided');
    assert.equal(entry(GLOBAL).limit, 6);
  });

  test('both short: two preferences; the global one covers the GPUs in use outside this family quota', async () => {
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { limit: 2, usage: 1 });
    setQuota(GLOBAL, undefined, { limit: 4, usage: 3 });
    const from = sb.requests.length;
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 10 });
    ok(r);
    assert.equal(r.outputs.state, 'granted');
    assert.equal(r.outputs.regional_granted_value, '10');
    assert.equal(r.outputs.global_granted_value, '12', '10 here + 2 in use elsewhere');
    assert.equal(writes(from).length, 2);
    assert.deepEqual(prefs().map((p) => p.quotaId).sort(), ['GPUS-ALL-REGIONS-per-project', 'NVIDIA-L4-GPUS-per-project-region']);
    assert.match(r.summary, /\| NVIDIA-L4-GPUS-per-project-region \| us-central1 \| 1 \| 2 \| 10 \| 10 \| granted \|/);
    assert.match(r.summary, /\| GPUS-ALL-REGIONS-per-project \| all regions \| 3 \| 4 \| 12 \| 12 \| granted \|/);
  });

  test('Spot quota: the PREEMPTIBLE_ family quota is the one raised', async () => {
    const r = await run({ region: 'us-east4', gpu_family: 'nvidia-l4', spot: true, count: 10 });
    ok(r);
    assert.equal(r.outputs.state, 'granted');
    assert.equal(r.outputs.global_state, 'sufficient');
    assert.equal(prefs().length, 1);
    assert.equal((prefs()[0] as Json).quotaId, 'PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region');
    assert.equal(entry('PREEMPTIBLE_NVIDIA_L4_GPUS', 'us-east4').limit, 10);
    assert.equal(entry('NVIDIA_L4_GPUS', 'us-east4').limit, 4, 'the on-demand quota is untouched');
  });

  test('decision still pending when the wait ends: state pending, a warning, exit 0 (or a failure with fail_on_pending)', async () => {
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { review: { decision: 'grant', delayMs: 60_000 } });
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 24, wait: '2s' });
    ok(r);
    assert.equal(r.outputs.state, 'pending');
    assert.equal(r.outputs.regional_state, 'pending');
    assert.equal(r.outputs.regional_granted_value, '');
    assert.equal(r.outputs.regional_limit, '8');
    assert.ok(r.main.annotations.some((a) => a.level === 'warning' && /not decided yet/.test(a.message)));
    assert.match(r.summary, /pending/);
    assert.match(r.outputs.console_url ?? '', /^https:\/\/console\.cloud\.google\.com\/iam-admin\/quotas\?project=mlabs-demo/);

    const strict = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 24, fail_on_pending: true });
    assert.equal(strict.exitCode, 1);
    assert.equal(strict.outputs.state, 'pending');
    assert.match(errorOf(strict), /not decided yet/);
  });

  test('denied: fails with Google\'s reason and the console link', async () => {
    setQuota('NVIDIA_A100_80GB_GPUS', 'us-central1', { review: { decision: 'deny', delayMs: 300 } });
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-a100-80gb', count: 2, wait: '20s' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.state, 'denied');
    assert.equal(r.outputs.regional_state, 'denied');
    assert.equal(r.outputs.global_state, 'sufficient');
    assert.equal(r.outputs.regional_granted_value, '0');
    const msg = errorOf(r);
    assert.match(msg, /denied the quota request/);
    assert.match(msg, /Google: "Quota request denied"/);
    assert.match(msg, /Fix: Request the quota by hand.*https:\/\/console\.cloud\.google\.com\/iam-admin\/quotas\?project=mlabs-demo/s);
    assert.match(r.summary, /\| denied \|/);
    assert.match(r.summary, /https:\/\/console\.cloud\.google\.com/);
  });

  // Every family of the suite's catalog has its regional quota seeded (on-demand and PREEMPTIBLE_), so
  // a raise above the limit files the preference for the quota the sandbox keeps; Spot for every other family.
  GPU_TYPES.forEach((type, i) => {
    const spot = i % 2 === 1;
    test(`every family: ${type.name}${spot ? ' (Spot)' : ''} files its preference against the seeded ${spot ? type.preemptibleMetric : type.metric}`, async () => {
      const seeded = entry(spot ? type.preemptibleMetric : type.metric, 'us-central1');
      const count = Math.max(seeded.limit, seeded.autoGrantCeiling ?? 0) + 1; // above what is granted at once: Google reviews it
      const r = await run({ region: 'us-central1', gpu_family: type.name, spot, count });
      ok(r);
      assert.equal(r.outputs.regional_state, 'pending');
      assert.equal(r.outputs.regional_limit, String(seeded.limit));
      const p = prefs().find((x) => x.quotaId === seeded.quotaId) as Json | undefined;
      assert.ok(p, JSON.stringify(prefs()));
      assert.deepEqual(p.dimensions, { region: 'us-central1', ...(seeded.gpuFamily ? { gpu_family: seeded.gpuFamily } : {}) });
      assert.equal((p.quotaConfig as Json).preferredValue, String(count));
    });
  });

  test('newer families use GPUS-PER-GPU-FAMILY with the gpu_family dimension', async () => {
    setQuota('NVIDIA_H100_GPUS', 'us-central1', { review: { decision: 'deny', delayMs: 200 } });
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-h100-80gb', count: 8, wait: '20s' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.regional_state, 'denied');
    const p = prefs().find((x) => x.quotaId === 'GPUS-PER-GPU-FAMILY-per-project-region') as Json;
    assert.ok(p, JSON.stringify(prefs()));
    assert.deepEqual(p.dimensions, { region: 'us-central1', gpu_family: 'NVIDIA_H100' });
    assert.equal(p.name, `projects/${PROJECT}/locations/global/quotaPreferences/mlabs-gpus-per-gpu-family-nvidia-h100-us-central1`);
  });

  test('partially granted: fails, reports what was granted and Google\'s text', async () => {
    setQuota('NVIDIA_T4_GPUS', 'us-central1', { review: { decision: 'partial', delayMs: 300, partialValue: 8 } });
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-tesla-t4', count: 12, wait: '20s' });
    assert.equal(r.exitCode, 1);
    assert.equal(r.outputs.state, 'partially_granted');
    assert.equal(r.outputs.regional_granted_value, '8');
    assert.equal(r.outputs.regional_limit, '8');
    const msg = errorOf(r);
    assert.match(msg, /asked for 12, granted 8/);
    assert.match(msg, /We cannot grant the preferred quota '12'/);
    assert.match(r.summary, /\| NVIDIA-T4-GPUS-per-project-region \| us-central1 \| 0 \| 4 \| 12 \| 8 \| partially_granted \|/);
  });

  test('re-runs update the same preference and never duplicate it', async () => {
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { review: { decision: 'grant', delayMs: 60_000 } });
    setQuota(GLOBAL, undefined, { limit: 64 });
    const first = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 20 });
    ok(first);
    assert.equal(first.outputs.state, 'pending');

    // Same request again: the open preference is found and left alone.
    let from = sb.requests.length;
    const again = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 20 });
    ok(again);
    assert.equal(again.outputs.regional_preference, first.outputs.regional_preference);
    assert.deepEqual(writes(from), []);
    assert.equal(prefs().length, 1);

    // A larger count updates that same preference (keeping the limit recorded before the first raise).
    from = sb.requests.length;
    const more = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 24 });
    ok(more);
    assert.deepEqual(writes(from).map((w) => w.rpc), ['UpdateQuotaPreference']);
    assert.equal(prefs().length, 1);
    const cfg = (prefs()[0] as Json).quotaConfig as Json;
    assert.equal(String(cfg.preferredValue), '24');
    assert.equal((cfg.annotations as Json)['mlabs-original-limit'], '8');

    // Once granted, a re-run finds the quota sufficient and writes nothing.
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { autoGrantCeiling: 64 });
    const granted = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 24, justification: 'changed' });
    ok(granted);
    assert.equal(granted.outputs.state, 'granted');
    from = sb.requests.length;
    const settled = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 24 });
    ok(settled);
    assert.equal(settled.outputs.state, 'sufficient');
    assert.deepEqual(writes(from), []);
    assert.equal(prefs().length, 1);
  });
});

describe('a real client', () => {
  test('gcloud sees the preference the action filed, and the raised limit', async () => {
    setQuota('NVIDIA_L4_GPUS', 'us-east4', { autoGrantCeiling: 0, review: { decision: 'grant', delayMs: 60_000 } });
    const r = await run({ region: 'us-east4', gpu_family: 'nvidia-l4', count: 12, justification: 'inference' });
    ok(r);
    assert.equal(r.outputs.state, 'pending');
    const env = { ...process.env, ...sb.env, CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'gcloud-')) };
    const gcloud = async (...args: string[]): Promise<Json> => {
      const { stdout } = await promisify(execFile)('gcloud', [...args, '--project', PROJECT, '--format', 'json'], { env });
      return JSON.parse(stdout) as Json;
    };
    const pref = await gcloud('beta', 'quotas', 'preferences', 'describe', 'mlabs-nvidia-l4-gpus-us-east4');
    assert.equal(pref.quotaId, 'NVIDIA-L4-GPUS-per-project-region');
    assert.deepEqual(pref.dimensions, { region: 'us-east4' });
    assert.equal(pref.reconciling, true);
    assert.equal(pref.justification, 'inference');
    const cfg = pref.quotaConfig as Json;
    assert.equal(String(cfg.preferredValue), '12');
    assert.equal((cfg.annotations as Json)['mlabs-original-limit'], '4');
    const info = await gcloud('beta', 'quotas', 'info', 'describe', 'NVIDIA-L4-GPUS-per-project-region', '--service', 'compute.googleapis.com');
    const east = (info.dimensionsInfos as Json[]).find((d) => (d.dimensions as Json)?.region === 'us-east4') as Json;
    assert.equal(String((east.details as Json).value), '4', 'still 4 while Google reviews');
  });
});

describe('release', () => {
  test('gives back exactly what the suite raised: the limits recorded before the first raise', async () => {
    setQuota(GLOBAL, undefined, { limit: 6 });
    const raised = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 14 });
    ok(raised);
    assert.equal(raised.outputs.state, 'granted');
    assert.equal(entry('NVIDIA_L4_GPUS', 'us-central1').limit, 14);
    assert.equal(entry(GLOBAL).limit, 14);
    // A second raise must not move the recorded original.
    ok(await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 16 }));

    const r = await run({ mode: 'release', region: 'us-central1', gpu_family: 'nvidia-l4' });
    ok(r);
    assert.equal(r.outputs.state, 'released');
    assert.equal(r.outputs.regional_limit, '8');
    assert.equal(r.outputs.global_limit, '6');
    assert.equal(entry('NVIDIA_L4_GPUS', 'us-central1').limit, 8);
    assert.equal(entry(GLOBAL).limit, 6);
    assert.match(r.summary, /GPU quota \(release\)/);
    assert.match(r.summary, /\| NVIDIA-L4-GPUS-per-project-region \| us-central1 \| 0 \| 16 \| 8 \| 8 \| released \|/);

    // Releasing again changes nothing.
    const from = sb.requests.length;
    const again = await run({ mode: 'release', region: 'us-central1', gpu_family: 'nvidia-l4' });
    ok(again);
    assert.equal(again.outputs.state, 'unchanged');
    assert.deepEqual(writes(from), []);
  });

  test('never below current usage, and never touches a quota the suite did not raise', async () => {
    setQuota(GLOBAL, undefined, { limit: 64 });
    ok(await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 16 }));
    setQuota('NVIDIA_L4_GPUS', 'us-central1', { usage: 10 });
    setQuota(GLOBAL, undefined, { usage: 10 });
    const r = await run({ mode: 'release', region: 'us-central1', gpu_family: 'nvidia-l4' });
    ok(r);
    assert.equal(r.outputs.regional_state, 'released');
    assert.equal(r.outputs.regional_limit, '10');
    assert.equal(entry('NVIDIA_L4_GPUS', 'us-central1').limit, 10);
    assert.ok(r.main.annotations.some((a) => a.level === 'warning' && /releasing only down to 10/.test(a.message)));
    assert.equal(r.outputs.global_state, 'unchanged', 'the global cap was never raised by the suite');
    assert.equal(entry(GLOBAL).limit, 64);
  });
});

describe('inputs', () => {
  const bad: [string, Record<string, string | number | boolean>, RegExp][] = [
    ['unknown family', { region: 'us-central1', gpu_family: 'nvidia-rtx-9090', count: 1 }, /Input "gpu_family" is "nvidia-rtx-9090": expected one of nvidia-tesla-t4, nvidia-l4/],
    ['malformed region', { region: 'us_central1', gpu_family: 'nvidia-l4', count: 1 }, /Input "region" is "us_central1": expected a Compute region/],
    ['a zone given as region', { region: 'us-central1-a', gpu_family: 'nvidia-l4', count: 1 }, /Input "region"/],
    ['count zero', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 0 }, /Input "count" is "0": expected a whole number from 1 to 4096/],
    ['count too large', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 100000 }, /Input "count" is "100000"/],
    ['count not a number', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 'eight' }, /Input "count" is "eight"/],
    ['count missing', { region: 'us-central1', gpu_family: 'nvidia-l4' }, /Input "count" is empty/],
    ['bad email', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 1, contact_email: 'not-an-email' }, /Input "contact_email" is "not-an-email"/],
    ['bad mode', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 1, mode: 'raise' }, /Input "mode" is "raise": expected one of "ensure", "release"/],
    ['bad wait', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 1, wait: 'soon' }, /Input "wait" is "soon"/],
    ['bad project', { region: 'us-central1', gpu_family: 'nvidia-l4', count: 1, project_id: 'My Project' }, /Input "project_id" is "My Project"/],
  ];
  for (const [name, inputs, message] of bad) {
    test(`refused before any call: ${name}`, async () => {
      const from = sb.requests.length;
      const r = await run(inputs);
      assert.equal(r.exitCode, 1);
      assert.match(errorOf(r), message);
      assert.equal(sb.requests.length, from, 'no request reached the sandbox');
    });
  }
});

describe('refusals', () => {
  test('a permission refusal names the roles the service account needs', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'cloudquotas', method: 'UpdateQuotaPreference' }, status: 403, message: "Permission 'cloudquotas.quotas.update' denied" });
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 12 });
    assert.equal(r.exitCode, 1);
    const msg = errorOf(r);
    assert.match(msg, /Cloud Quotas answered 403 PERMISSION_DENIED: Permission 'cloudquotas.quotas.update' denied/);
    assert.match(msg, /Fix: Give the job's service account roles\/cloudquotas.admin/);
    assert.equal(prefs().length, 0);
  });
});

describe('transient errors', () => {
  test('429 and 503 answers are retried', async () => {
    sb.faults.add({ kind: 'error', match: { api: 'cloudquotas', method: 'GetQuotaInfo' }, status: 429, count: 2 });
    sb.faults.add({ kind: 'error', match: { api: 'compute' }, status: 503, count: 1 });
    sb.faults.add({ kind: 'error', match: { api: 'cloudquotas', method: 'UpdateQuotaPreference' }, status: 503, count: 1 });
    const from = sb.requests.length;
    const r = await run({ region: 'us-central1', gpu_family: 'nvidia-l4', count: 12 });
    ok(r);
    assert.equal(r.outputs.state, 'granted');
    const statuses = sb.requests.slice(from).map((x) => x.status);
    assert.equal(statuses.filter((s) => s === 429).length, 2);
    assert.equal(statuses.filter((s) => s === 503).length, 2);
    assert.equal(prefs().length, 1, 'the retried write did not duplicate the preference');
    assert.ok(r.main.annotations.some((a) => a.level === 'warning' && /answered 429/.test(a.message)));
  });
});

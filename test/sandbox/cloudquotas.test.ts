// Cloud Quotas: quota infos agree with Compute; preferences follow the grant model.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { call, until } from './_client.js';

type Json = Record<string, unknown>;
let sb: Sandbox;
beforeAll(async () => {
  const { loadSeed } = await import('../../scripts/sandbox/index.js');
  const seed = loadSeed(undefined);
  // Short review delays so pending preferences settle quickly.
  for (const e of (seed.quotas as { entries: { review?: { delayMs: number } }[] }).entries) if (e.review) e.review.delayMs = 150;
  sb = await startSandbox({ seed });
});
afterAll(async () => {
  await sb.stop();
});

const P = '/cloudquotas/v1/projects/mlabs-demo/locations/global';
const INFOS = `${P}/services/compute.googleapis.com/quotaInfos`;

function pref(quotaId: string, value: number, region = 'us-central1', extra: Json = {}): Json {
  return {
    service: 'compute.googleapis.com',
    quotaId,
    dimensions: { region },
    quotaConfig: { preferredValue: String(value) },
    contactEmail: 'ops@mlabs.example',
    justification: 'GPU burst',
    ...extra,
  };
}

async function regionLimit(metric: string): Promise<number> {
  const r = await call(sb, 'GET', '/compute/v1/projects/mlabs-demo/regions/us-central1');
  return ((r.body.quotas as Json[]).find((q) => q.metric === metric) as Json).limit as number;
}
async function infoValue(quotaId: string, region = 'us-central1'): Promise<string> {
  const r = await call(sb, 'GET', `${INFOS}/${quotaId}`);
  const d = (r.body.dimensionsInfos as Json[]).find((x) => (x.dimensions as Json).region === region) as Json;
  return (d.details as Json).value as string;
}

describe('quotaInfos', () => {
  test('list and get match Compute regions.get, on v1 and v1beta', async () => {
    const list = await call(sb, 'GET', INFOS);
    const ids = (list.body.quotaInfos as Json[]).map((q) => q.quotaId);
    for (const id of ['NVIDIA-L4-GPUS-per-project-region', 'PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region', 'NVIDIA-T4-GPUS-per-project-region', 'GPUS-ALL-REGIONS-per-project', 'GPUS-PER-GPU-FAMILY-per-project-region']) {
      assert.ok(ids.includes(id), id);
    }
    assert.equal(await infoValue('NVIDIA-L4-GPUS-per-project-region'), String(await regionLimit('NVIDIA_L4_GPUS')));
    const beta = await call(sb, 'GET', INFOS.replace('/v1/', '/v1beta/') + '/GPUS-ALL-REGIONS-per-project');
    assert.equal(beta.status, 200);
    assert.equal(beta.body.dimensions, undefined, 'a project-level quota has no dimensions');
    const h100 = await call(sb, 'GET', `${INFOS}/GPUS-PER-GPU-FAMILY-per-project-region`);
    assert.deepEqual(h100.body.dimensions, ['region', 'gpu_family']);
  });
});

describe('quotaPreferences', () => {
  test('auto-grant up to the ceiling raises the limit everywhere at once', async () => {
    const r = await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=l4-central`, pref('NVIDIA-L4-GPUS-per-project-region', 12));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.reconciling, false);
    assert.equal((r.body.quotaConfig as Json).grantedValue, '12');
    assert.equal(r.body.contactEmail, undefined, 'input-only');
    assert.equal(await regionLimit('NVIDIA_L4_GPUS'), 12);
    assert.equal(await infoValue('NVIDIA-L4-GPUS-per-project-region'), '12');
  });

  test('duplicate id: 409 ALREADY_EXISTS; missing contact email on an increase: 400', async () => {
    const r = await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=l4-central`, pref('NVIDIA-L4-GPUS-per-project-region', 12));
    assert.equal(r.status, 409);
    assert.equal((r.body.error as Json).status, 'ALREADY_EXISTS');
    const noMail = pref('NVIDIA-T4-GPUS-per-project-region', 6);
    delete noMail.contactEmail;
    assert.equal((await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=x`, noMail)).status, 400);
  });

  test('above the ceiling: pending (reconciling) then granted', async () => {
    const r = await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=l4-big`, pref('NVIDIA-L4-GPUS-per-project-region', 40));
    assert.equal(r.body.reconciling, true);
    assert.equal((r.body.quotaConfig as Json).grantedValue, '12');
    const done = await until(async () => {
      const g = await call(sb, 'GET', `${P}/quotaPreferences/l4-big`);
      return g.body.reconciling === false ? g.body : undefined;
    });
    assert.equal((done.quotaConfig as Json).grantedValue, '40');
    assert.equal(await regionLimit('NVIDIA_L4_GPUS'), 40);
  });

  test('partially granted and denied requests', async () => {
    await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=t4`, pref('NVIDIA-T4-GPUS-per-project-region', 32));
    await call(sb, 'POST', `${P}/quotaPreferences?quotaPreferenceId=a100`, pref('NVIDIA-A100-80GB-GPUS-per-project-region', 8));
    const settled = async (id: string): Promise<Json> =>
      until(async () => {
        const g = await call(sb, 'GET', `${P}/quotaPreferences/${id}`);
        return g.body.reconciling === false ? g.body : undefined;
      });
    const t4 = await settled('t4');
    assert.equal((t4.quotaConfig as Json).grantedValue, '8');
    assert.match(String((t4.quotaConfig as Json).stateDetail), /We cannot grant the preferred quota '32'.*'8' was granted\./);
    const a100 = await settled('a100');
    assert.equal((a100.quotaConfig as Json).grantedValue, '0');
    assert.equal((a100.quotaConfig as Json).stateDetail, 'Quota request denied');
    assert.equal(await regionLimit('NVIDIA_A100_80GB_GPUS'), 0);
  });

  test('patch: etag mismatch is ABORTED, allowMissing creates, list shows them', async () => {
    const cur = await call(sb, 'GET', `${P}/quotaPreferences/l4-central`);
    const bad = await call(sb, 'PATCH', `${P}/quotaPreferences/l4-central`, { ...pref('NVIDIA-L4-GPUS-per-project-region', 14), etag: '"stale"' });
    assert.equal(bad.status, 409);
    assert.equal((bad.body.error as Json).status, 'ABORTED');
    const ok = await call(sb, 'PATCH', `${P}/quotaPreferences/l4-central?updateMask=quotaConfig`, {
      ...pref('NVIDIA-L4-GPUS-per-project-region', 44),
      etag: cur.body.etag,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const missing = await call(sb, 'PATCH', `${P}/quotaPreferences/pl4-east?allowMissing=true`, pref('PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region', 12, 'us-east4'));
    assert.equal(missing.status, 200, JSON.stringify(missing.body));
    assert.equal(missing.body.name, 'projects/mlabs-demo/locations/global/quotaPreferences/pl4-east');
    const nope = await call(sb, 'PATCH', `${P}/quotaPreferences/absent`, pref('PREEMPTIBLE-NVIDIA-L4-GPUS-per-project-region', 12, 'us-east4'));
    assert.equal(nope.status, 404);
    const list = await call(sb, 'GET', `${P}/quotaPreferences`);
    const names = (list.body.quotaPreferences as Json[]).map((p) => String(p.name).split('/').pop());
    for (const id of ['l4-central', 'l4-big', 't4', 'a100', 'pl4-east']) assert.ok(names.includes(id), id);
  });
});

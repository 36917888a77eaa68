// IAM in the sandbox: every route has its permission, the policy is the repository's Terraform,
// refusals answer in Google's words (proved with gcloud), GKE's Kubernetes API authorizes a Google
// identity through IAM, and a role removed from terraform/modules/iam fails the action that needs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';
import { RPC_PERMISSIONS, rpcEntry } from '../../scripts/sandbox/iam/rpcs.js';
import { kubePermission, routeKey } from '../../scripts/sandbox/iam/engine.js';
import { roleGrants, rolesSource, knownRole } from '../../scripts/sandbox/iam/roles.js';
import { roleFor } from '../../actions/lib/google/iam-denial.js';
import { runAction } from '../harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLUSTER = 'projects/mlabs-demo/locations/us-central1/clusters/mlabs';

function gcloud(env: Record<string, string>, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('gcloud', args, { env: { ...process.env, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function call(sb: Sandbox, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sb.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe('the RPC permission table', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ port: 0 });
  });
  afterAll(async () => sb?.stop());

  test('every route the sandbox binds has an entry (add one to scripts/sandbox/iam/rpcs.ts for a new route)', () => {
    const missing = sb.ctx.router
      .list()
      .filter((r) => !rpcEntry(routeKey(r), r.api))
      .map((r) => `${routeKey(r)} (${r.method} ${r.path})`);
    assert.deepEqual(missing, []);
  });

  test('every permission in the table is one a predefined role of the data file grants', () => {
    const probe = Object.values(RPC_PERMISSIONS).flatMap((e) => ('checks' in e ? e.checks.map((c) => c.permission) : []));
    const roles = ['roles/container.admin', 'roles/compute.admin', 'roles/storage.admin', 'roles/artifactregistry.admin', 'roles/cloudquotas.admin', 'roles/serviceusage.serviceUsageAdmin', 'roles/browser', 'roles/iam.serviceAccountUser', 'roles/iam.serviceAccountViewer', 'roles/iam.workloadIdentityPoolViewer', 'roles/iam.serviceAccountAdmin', 'roles/iam.workloadIdentityPoolAdmin'];
    const unknown = [...new Set(probe)].filter((p) => !roles.some((r) => roleGrants(r, p)));
    assert.deepEqual(unknown, []);
  });

  test('the roles file names its source and date', () => {
    const s = rolesSource();
    assert.match(s.source, /docs\.cloud\.google\.com\/iam\/docs\/roles-permissions/);
    assert.match(s.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(knownRole('roles/container.developer') && roleGrants('roles/container.developer', 'container.jobs.create'));
    assert.ok(!roleGrants('roles/container.clusterAdmin', 'container.jobs.create'), 'clusterAdmin grants no Kubernetes objects');
  });

  test('the role actions name for a permission grants it (actions/lib/google/iam-denial.ts)', () => {
    const perms = [...new Set(Object.values(RPC_PERMISSIONS).flatMap((e) => ('checks' in e ? e.checks.map((c) => c.permission) : [])))];
    perms.push('container.configMaps.create', 'container.pods.getLogs', 'container.jobs.create', 'iam.serviceAccounts.actAs');
    const wrong = perms.filter((p) => !roleGrants(roleFor(p), p)).map((p) => `${p} -> ${roleFor(p)}`);
    assert.deepEqual(wrong, []);
  });

  test('Kubernetes requests map to GKE permissions', () => {
    assert.equal(kubePermission({ verb: 'create', apiGroup: '', resource: 'configmaps' }), 'container.configMaps.create');
    assert.equal(kubePermission({ verb: 'watch', apiGroup: 'batch', resource: 'jobs' }), 'container.jobs.list');
    assert.equal(kubePermission({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log' }), 'container.pods.getLogs');
    assert.equal(kubePermission({ verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' }), 'container.deployments.updateScale');
    assert.equal(kubePermission({ verb: 'create', apiGroup: 'jobset.x-k8s.io', resource: 'jobsets' }), 'container.thirdPartyObjects.create');
    assert.equal(kubePermission({ verb: 'patch', apiGroup: 'ray.io', resource: 'rayjobs' }), 'container.thirdPartyObjects.update');
  });
});

describe('the policy from terraform/ and the refusals', () => {
  let sb: Sandbox;
  let cfg: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    sb = await startSandbox({ port: 0, operationMs: 20 });
    cfg = mkdtempSync(join(tmpdir(), 'gcloud-iam-'));
    env = { ...sb.env, CLOUDSDK_CONFIG: cfg };
  });
  afterAll(async () => {
    await sb?.stop();
    if (cfg) rmSync(cfg, { recursive: true, force: true });
  });

  test('the CI account holds what terraform/modules/iam grants, with the file and line', async () => {
    const p = await sb.iam.currentPolicy();
    const ci = `serviceAccount:${sb.ciServiceAccount}`;
    const mine = p.project.filter((b) => b.members.includes(ci));
    const text = readFileSync(join(ROOT, 'terraform/modules/iam/main.tf'), 'utf8').split('\n');
    assert.ok(mine.some((b) => b.role === 'roles/container.clusterAdmin'));
    for (const b of mine) {
      assert.equal(b.source?.file, 'terraform/modules/iam/main.tf');
      assert.ok(text[(b.source?.line ?? 0) - 1]?.includes(`"${b.role}"`), `${b.role} at line ${b.source?.line}`);
    }
    const onNodes = p.resources[`projects/-/serviceAccounts/mlabs-nodes@mlabs-demo.iam.gserviceaccount.com`] ?? [];
    assert.deepEqual(onNodes.map((b) => [b.role, b.members]), [['roles/iam.serviceAccountUser', [ci]]]);
    assert.deepEqual(p.unresolved, []);
  });

  test('gcloud: a node pool on the Compute default account is refused, naming iam.serviceAccounts.actAs; on the node account it is created', async () => {
    const denied = await gcloud(env, ['container', 'node-pools', 'create', 'iam-a', '--cluster', 'mlabs', '--location', 'us-central1', '--node-locations', 'us-central1-a', '--num-nodes', '1']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /Required "iam\.serviceAccounts\.actAs" permission\(s\) for "projects\/-\/serviceAccounts\/123456789012-compute@developer\.gserviceaccount\.com"/);
    const ok = await gcloud(env, ['container', 'node-pools', 'create', 'iam-a', '--cluster', 'mlabs', '--location', 'us-central1', '--node-locations', 'us-central1-a', '--num-nodes', '1', '--service-account', 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a seeded policy replaces the Terraform: refusals in GKE, Compute, Storage and Artifact Registry words', async () => {
    sb.iam.setPolicy({ project: [{ role: 'roles/cloudquotas.viewer', members: [`serviceAccount:${sb.ciServiceAccount}`] }] });
    try {
      const gke = await call(sb, sb.ciToken, 'GET', `/container/v1/${CLUSTER}`);
      assert.equal(gke.status, 403);
      assert.deepEqual(gke.json, {
        error: {
          code: 403,
          message: `Required "container.clusters.get" permission(s) for "${CLUSTER}".`,
          status: 'PERMISSION_DENIED',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'IAM_PERMISSION_DENIED', domain: 'container.googleapis.com', metadata: { permission: 'container.clusters.get', resource: CLUSTER } }],
        },
      });
      const ar = await call(sb, sb.ciToken, 'GET', '/artifactregistry/v1/projects/mlabs-demo/locations/us-central1/repositories');
      assert.equal(ar.status, 403);
      assert.equal((ar.json.error as { message: string }).message, "Permission 'artifactregistry.repositories.list' denied on resource '//artifactregistry.googleapis.com/projects/mlabs-demo/locations/us-central1' (or it may not exist).");
      const owner = await call(sb, sb.accessToken, 'GET', `/container/v1/${CLUSTER}`);
      assert.equal(owner.status, 200, 'the sandbox admin token is the owner');
      const zones = await gcloud(env, ['compute', 'zones', 'list', '--format=json']);
      assert.notEqual(zones.code, 0);
      assert.match(zones.stderr, /Required 'compute\.zones\.list' permission for 'projects\/mlabs-demo'/);
      const ls = await gcloud(env, ['storage', 'ls', 'gs://mlabs-demo-nodepool-snapshots']);
      assert.notEqual(ls.code, 0);
      assert.match(ls.stderr, /storage\.objects\.list/);
      const quotas = await call(sb, sb.ciToken, 'GET', '/cloudquotas/v1/projects/mlabs-demo/locations/global/services/compute.googleapis.com/quotaInfos');
      assert.equal(quotas.status, 200, 'what the seeded role grants is allowed');
    } finally {
      sb.iam.setPolicy(undefined);
    }
  });

  test("GKE's API server authorizes the CI account through IAM: container.developer lets it create a ConfigMap, clusterAdmin alone does not", async () => {
    const g = await gcloud({ ...env, KUBECONFIG: join(cfg, 'kubeconfig') }, ['container', 'clusters', 'get-credentials', 'mlabs', '--location', 'us-central1']);
    assert.equal(g.code, 0, g.stderr);
    const kenv = { ...env, KUBECONFIG: join(cfg, 'kubeconfig') };
    const made = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile('kubectl', ['create', 'configmap', 'iam-ok', '--from-literal=a=b'], { env: { ...process.env, ...kenv } }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
    );
    assert.equal(made.code, 0, made.stderr);
    sb.iam.setPolicy({ project: [{ role: 'roles/container.clusterAdmin', members: [`serviceAccount:${sb.ciServiceAccount}`] }] });
    try {
      const refused = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile('kubectl', ['create', 'configmap', 'iam-no', '--from-literal=a=b'], { env: { ...process.env, ...kenv } }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr })),
      );
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /configmaps is forbidden: User "mlabs-ci@mlabs-demo\.iam\.gserviceaccount\.com" cannot create resource "configmaps" in API group "" in the namespace "default": requires one of \["container\.configMaps\.create"\] permission\(s\)/);
    } finally {
      sb.iam.setPolicy(undefined);
    }
  });

  test("GKE: a Role is held to RBAC's escalation check; IAM's container.roles.escalate (roles/container.admin) lifts it", async () => {
    const kenv = { ...env, KUBECONFIG: join(cfg, 'kubeconfig-escalate') };
    const g = await gcloud(kenv, ['container', 'clusters', 'get-credentials', 'mlabs', '--location', 'us-central1']);
    assert.equal(g.code, 0, g.stderr);
    const kubectl = (args: string[], input?: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        const child = execFile('kubectl', args, { env: { ...process.env, ...kenv } }, (err, _o, stderr) => resolve({ code: err ? 1 : 0, stderr }));
        if (input !== undefined) child.stdin?.end(input);
      });
    // RBAC (made by the project owner) lets the CI account create Roles in default; IAM gives it container.developer.
    const rbac = `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: role-maker, namespace: default}\nrules: [{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [create]}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ci-role-maker, namespace: default}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-maker}\nsubjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: ${sb.ciServiceAccount}}]\n`;
    const made = await kubectl([`--token=${sb.accessToken}`, 'apply', '-f', '-'], rbac);
    assert.equal(made.code, 0, made.stderr);
    sb.iam.setPolicy({ project: [{ role: 'roles/container.developer', members: [`serviceAccount:${sb.ciServiceAccount}`] }] });
    try {
      const refused = await kubectl(['create', 'role', 'cm-reader', '--verb=get', '--resource=configmaps']);
      assert.notEqual(refused.code, 0);
      // IAM lets it read ConfigMaps, but the escalation check counts only what RBAC gives it.
      assert.match(refused.stderr, /roles\.rbac\.authorization\.k8s\.io "cm-reader" is forbidden: user "mlabs-ci@mlabs-demo\.iam\.gserviceaccount\.com" \(groups=\[[^\]]*\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["configmaps"\], Verbs:\["get"\]\}/);
      sb.iam.setPolicy({ project: [{ role: 'roles/container.admin', members: [`serviceAccount:${sb.ciServiceAccount}`] }] });
      const allowed = await kubectl(['create', 'role', 'cm-reader', '--verb=get', '--resource=configmaps']);
      assert.equal(allowed.code, 0, allowed.stderr);
    } finally {
      sb.iam.setPolicy(undefined);
    }
  });
});

describe('a role removed from terraform/modules/iam', () => {
  let sb: Sandbox;
  let checkout: string;
  beforeAll(async () => {
    checkout = mkdtempSync(join(tmpdir(), 'iam-checkout-'));
    cpSync(join(ROOT, 'terraform'), join(checkout, 'terraform'), { recursive: true });
    const file = join(checkout, 'terraform/modules/iam/main.tf');
    const text = readFileSync(file, 'utf8');
    const without = text.split('\n').filter((l) => !l.includes('"roles/compute.viewer"')).join('\n');
    assert.notEqual(without, text);
    writeFileSync(file, without);
    sb = await startSandbox({ port: 0, checkout });
  });
  afterAll(async () => {
    await sb?.stop();
    if (checkout) rmSync(checkout, { recursive: true, force: true });
  });

  test('gpu-capacity fails naming the Compute permission it lacks, the role and where the Terraform would grant it', async () => {
    const r = await runAction('gpu-capacity', { inputs: { accelerator_type: 'nvidia-l4', count: 1 }, env: { ...sb.env, MLABS_RETRY_BASE_MS: '1', GITHUB_WORKSPACE: checkout } });
    assert.notEqual(r.exitCode, 0);
    const error = r.main.annotations.filter((a) => a.level === 'error').map((a) => a.message).join('\n');
    assert.match(error, /compute\.(regions|acceleratorTypes|zones)\.(get|list)/);
    assert.match(error, /roles\/compute\.viewer/);
    assert.match(error, /Add "roles\/compute\.viewer" to ci_project_roles in terraform\/modules\/iam\/main\.tf:\d+/);
  });
});

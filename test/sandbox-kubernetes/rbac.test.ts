// Authorization as kube-apiserver does it, through real kubectl: minikube's admin credentials are
// cluster-admin, service account tokens (kubectl create token) go through RBAC, the 403 reads as
// Kubernetes words it, `kubectl auth can-i` / `auth whoami` answer, and an external authorizer set on a
// cluster (GKE's IAM check) comes first in the chain.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { kubernetesOf } from '../../scripts/sandbox/kubernetes/index.js';
import { run, startKube, type KubeFixture } from './helpers.js';

describe('RBAC on the sandbox dgx cluster', () => {
  let k: KubeFixture;
  let token: string;
  let nobodyToken: string;
  let dir: string;
  const asRunner = (args: string[], input?: string) => k.kubectl([`--token=${token}`, ...args], input);
  const asNobody = (args: string[]) => k.kubectl([`--token=${nobodyToken}`, ...args]);
  beforeAll(async () => {
    k = await startKube();
    dir = mkdtempSync(join(tmpdir(), 'rbac-test-'));
    for (const args of [['create', 'namespace', 'ml'], ['create', 'serviceaccount', 'runner', '-n', 'ml'], ['create', 'configmap', 'cfg', '-n', 'ml', '--from-literal=a=1'], ['create', 'configmap', 'other', '-n', 'ml', '--from-literal=a=1']]) {
      const r = await k.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    // Every test reads this state only, so each passes alone and in any order: `nobody` holds no
    // binding; `runner` views the namespace and may update and patch the ConfigMap cfg alone.
    for (const args of [
      ['create', 'serviceaccount', 'nobody', '-n', 'ml'],
      ['create', 'rolebinding', 'runner-view', '--clusterrole=view', '--serviceaccount=ml:runner', '-n', 'ml'],
      ['create', 'role', 'edit-cfg', '--verb=update,patch', '--resource=configmaps', '--resource-name=cfg', '-n', 'ml'],
      ['create', 'rolebinding', 'runner-edit-cfg', '--role=edit-cfg', '--serviceaccount=ml:runner', '-n', 'ml'],
    ]) {
      const r = await k.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    const t = await k.kubectl(['create', 'token', 'runner', '-n', 'ml']);
    assert.equal(t.code, 0, t.stderr);
    token = t.stdout.trim();
    const n = await k.kubectl(['create', 'token', 'nobody', '-n', 'ml']);
    assert.equal(n.code, 0, n.stderr);
    nobodyToken = n.stdout.trim();
  });
  afterAll(async () => {
    await k?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('minikube admin credentials: whoami is minikube-user in system:masters, and it can do anything', async () => {
    const w = await k.kubectl(['auth', 'whoami', '-o', 'json']);
    assert.equal(w.code, 0, w.stderr);
    const info = (JSON.parse(w.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    assert.equal(info.username, 'minikube-user');
    assert.deepEqual(info.groups, ['system:masters', 'system:authenticated']);
    const can = await k.kubectl(['auth', 'can-i', 'delete', 'nodes']);
    assert.equal(can.code, 0, can.stderr);
    assert.equal(can.stdout.trim(), 'yes');
  });

  it('every namespace has the default ServiceAccount and kube-root-ca.crt; the cluster a default StorageClass', async () => {
    const sa = await k.kubectl(['get', 'serviceaccount', 'default', '-n', 'ml', '-o', 'name']);
    assert.equal(sa.stdout.trim(), 'serviceaccount/default', sa.stderr);
    const cm = await k.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'ml', '-o', 'jsonpath={.data.ca\\.crt}']);
    assert.equal(cm.code, 0, cm.stderr);
    assert.equal(cm.stdout.trim(), k.kube.caPem.trim());
    const sc = await k.kubectl(['get', 'storageclass', '-o', 'json']);
    const items = (JSON.parse(sc.stdout) as { items: { metadata: { name: string; annotations?: Record<string, string> }; provisioner: string }[] }).items;
    const std = items.find((i) => i.metadata.name === 'standard');
    assert.equal(std?.provisioner, 'k8s.io/minikube-hostpath');
    assert.equal(std?.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    const pvc = await k.kubectl(['apply', '-f', '-', '-o', 'jsonpath={.spec.storageClassName}'], 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: ml}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n');
    assert.equal(pvc.stdout.trim(), 'standard', pvc.stderr);
  });

  it('a service account without bindings is refused in Kubernetes words', async () => {
    const w = await asNobody(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(w.stdout.trim(), 'system:serviceaccount:ml:nobody', w.stderr);
    const list = await asNobody(['get', 'pods', '-n', 'ml']);
    assert.notEqual(list.code, 0);
    assert.match(list.stderr, /Error from server \(Forbidden\): pods is forbidden: User "system:serviceaccount:ml:nobody" cannot list resource "pods" in API group "" in the namespace "ml"/);
    const nodes = await asNobody(['get', 'nodes']);
    assert.match(nodes.stderr, /nodes is forbidden: User "system:serviceaccount:ml:nobody" cannot list resource "nodes" in API group "" at the cluster scope/);
    const create = await asNobody(['create', 'deployment', 'web', '--image=nginx', '-n', 'ml']);
    assert.match(create.stderr, /deployments\.apps is forbidden: User "system:serviceaccount:ml:nobody" cannot create resource "deployments" in API group "apps" in the namespace "ml"/);
    const get = await asNobody(['get', 'configmap', 'cfg', '-n', 'ml']);
    assert.match(get.stderr, /configmaps "cfg" is forbidden: User "system:serviceaccount:ml:nobody" cannot get resource "configmaps" in API group "" in the namespace "ml"/);
    const can = await asNobody(['auth', 'can-i', 'list', 'pods', '-n', 'ml']);
    assert.equal(can.stdout.trim(), 'no');
    assert.equal(can.code, 1);
  });

  it('a RoleBinding to the view ClusterRole lets it read, not write; subresources are their own resource', async () => {
    const list = await asRunner(['get', 'configmaps', '-n', 'ml', '-o', 'name']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /configmap\/cfg/);
    const del = await asRunner(['delete', 'configmap', 'cfg', '-n', 'ml']);
    assert.match(del.stderr, /configmaps "cfg" is forbidden: User "system:serviceaccount:ml:runner" cannot delete resource "configmaps" in API group "" in the namespace "ml"/);
    assert.equal((await asRunner(['auth', 'can-i', 'get', 'pods/log', '-n', 'ml'])).stdout.trim(), 'yes');
    assert.equal((await asRunner(['auth', 'can-i', 'create', 'pods/eviction', '-n', 'ml'])).stdout.trim(), 'no');
    assert.equal((await asRunner(['auth', 'can-i', 'get', 'secrets', '-n', 'ml'])).stdout.trim(), 'no');
    // The binding is namespaced: nothing in default.
    assert.equal((await asRunner(['auth', 'can-i', 'list', 'configmaps', '-n', 'default'])).stdout.trim(), 'no');
  });

  it('resourceNames limit a Role to the objects it names', async () => {
    const ok = await asRunner(['label', '--overwrite', 'configmap', 'cfg', 'touched=yes', '-n', 'ml']);
    assert.equal(ok.code, 0, ok.stderr);
    const no = await asRunner(['label', 'configmap', 'other', 'touched=yes', '-n', 'ml']);
    assert.match(no.stderr, /configmaps "other" is forbidden: User "system:serviceaccount:ml:runner" cannot patch resource "configmaps" in API group "" in the namespace "ml"/);
    assert.equal((await asRunner(['auth', 'can-i', 'patch', 'configmaps/cfg', '-n', 'ml'])).stdout.trim(), 'yes');
    assert.equal((await asRunner(['auth', 'can-i', 'patch', 'configmaps/other', '-n', 'ml'])).stdout.trim(), 'no');
  });

  it('auth can-i --list shows the rules RBAC gives', async () => {
    const r = await asRunner(['auth', 'can-i', '--list', '-n', 'ml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configmaps\s+\[\]\s+\[cfg\]\s+\[update patch\]/);
    assert.match(r.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
    assert.match(r.stdout, /\[\/api\/\*\]\s+\[\]\s+\[get\]/);
  });

  it('escalation prevention: a Role or binding granting more than the caller holds is refused in the API server\'s words, unless it may escalate or bind', async () => {
    // A namespace admin (ClusterRole admin bound in its namespace) of its own, made here.
    for (const args of [['create', 'namespace', 'esc'], ['create', 'serviceaccount', 'granter', '-n', 'esc'], ['create', 'rolebinding', 'granter-admin', '--clusterrole=admin', '--serviceaccount=esc:granter', '-n', 'esc']]) {
      const r = await k.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    const t = await k.kubectl(['create', 'token', 'granter', '-n', 'esc']);
    const asGranter = (args: string[]) => k.kubectl([`--token=${t.stdout.trim()}`, ...args]);
    const who = 'user "system:serviceaccount:esc:granter" (groups=["system:serviceaccounts" "system:serviceaccounts:esc" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:';

    const within = await asGranter(['create', 'role', 'cfg-reader', '--verb=get,list', '--resource=configmaps', '-n', 'esc']);
    assert.equal(within.code, 0, within.stderr);
    const more = await asGranter(['create', 'role', 'node-reader', '--verb=get,list', '--resource=nodes,configmaps', '-n', 'esc']);
    assert.notEqual(more.code, 0);
    assert.ok(more.stderr.includes(`roles.rbac.authorization.k8s.io "node-reader" is forbidden: ${who}\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}`), more.stderr);
    const bind = await asGranter(['create', 'rolebinding', 'granter-root', '--clusterrole=cluster-admin', '--serviceaccount=esc:granter', '-n', 'esc']);
    assert.notEqual(bind.code, 0);
    assert.ok(bind.stderr.includes(`rolebindings.rbac.authorization.k8s.io "granter-root" is forbidden: ${who}\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`), bind.stderr);
    const view = await asGranter(['create', 'rolebinding', 'granter-view', '--clusterrole=view', '--serviceaccount=esc:granter', '-n', 'esc']);
    assert.equal(view.code, 0, `view is within admin: ${view.stderr}`);
    assert.equal((await k.kubectl(['get', 'role', 'node-reader', '-n', 'esc'])).code, 1, 'the refused Role was not stored');

    // escalate on roles and bind on cluster-admin lift the check, as the API server's EscalationAllowed / BindingAuthorized do.
    assert.equal((await k.kubectl(['create', 'role', 'granter-escalate', '--verb=escalate', '--resource=roles', '-n', 'esc'])).code, 0);
    assert.equal((await k.kubectl(['create', 'role', 'granter-bind', '--verb=bind', '--resource=clusterroles', '--resource-name=cluster-admin', '-n', 'esc'])).code, 0);
    assert.equal((await k.kubectl(['create', 'rolebinding', 'granter-esc', '--role=granter-escalate', '--serviceaccount=esc:granter', '-n', 'esc'])).code, 0);
    assert.equal((await k.kubectl(['create', 'rolebinding', 'granter-bind', '--role=granter-bind', '--serviceaccount=esc:granter', '-n', 'esc'])).code, 0);
    const escalated = await asGranter(['create', 'role', 'node-reader', '--verb=get,list', '--resource=nodes', '-n', 'esc']);
    assert.equal(escalated.code, 0, escalated.stderr);
    const bound = await asGranter(['create', 'rolebinding', 'granter-root', '--clusterrole=cluster-admin', '--serviceaccount=esc:granter', '-n', 'esc']);
    assert.equal(bound.code, 0, bound.stderr);
  });

  it('ClusterRole aggregation: labelled ClusterRoles flow into view, edit and admin, and into any role whose aggregationRule selects them', async () => {
    const widgets = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: widgets-view\n  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true", mlabs.dev/aggregate: "true"}\nrules:\n- apiGroups: [mlabs.dev]\n  resources: [widgets]\n  verbs: [get, list, watch]\n';
    assert.equal((await k.kubectl(['create', '-f', '-'], widgets)).code, 0);
    const rulesOf = async (name: string): Promise<{ apiGroups?: string[]; resources?: string[]; verbs: string[] }[]> =>
      (JSON.parse((await k.kubectl(['get', 'clusterrole', name, '-o', 'json'])).stdout) as { rules?: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[] }).rules ?? [];
    const hasWidgets = (rules: { apiGroups?: string[]; resources?: string[] }[]) => rules.some((r) => r.apiGroups?.includes('mlabs.dev') && r.resources?.includes('widgets'));
    for (const role of ['view', 'edit', 'admin']) assert.ok(hasWidgets(await rulesOf(role)), `${role} aggregates widgets-view`);
    assert.ok((await rulesOf('admin')).some((r) => r.resources?.includes('rolebindings')), 'admin keeps its own rules');

    const agg = 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: mlabs-all}\naggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {mlabs.dev/aggregate: "true"}\nrules: []\n';
    assert.equal((await k.kubectl(['create', '-f', '-'], agg)).code, 0);
    assert.deepEqual(await rulesOf('mlabs-all'), [{ apiGroups: ['mlabs.dev'], resources: ['widgets'], verbs: ['get', 'list', 'watch'] }]);
    assert.equal((await k.kubectl(['delete', 'clusterrole', 'widgets-view'])).code, 0);
    assert.deepEqual(await rulesOf('mlabs-all'), []);
    assert.ok(!hasWidgets(await rulesOf('admin')), 'a deleted role leaves the aggregates');
  });

  it('impersonation needs the impersonate verb; cluster-admin has it', async () => {
    const as = await k.kubectl(['auth', 'can-i', 'list', 'pods', '-n', 'ml', '--as=system:serviceaccount:ml:runner']);
    assert.equal(as.stdout.trim(), 'yes', as.stderr);
    const whoami = await k.kubectl(['auth', 'whoami', '--as=jane', '--as-group=devs', '-o', 'json']);
    const info = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    assert.deepEqual(info, { username: 'jane', groups: ['devs', 'system:authenticated'] });
    const no = await asRunner(['get', 'pods', '-n', 'ml', '--as=jane']);
    assert.match(no.stderr, /users "jane" is forbidden: User "system:serviceaccount:ml:runner" cannot impersonate resource "users" in API group "" at the cluster scope/);
  });

  it('SubjectAccessReview answers for another user; only cluster-admin may ask', async () => {
    const sar = (verb: string) => `apiVersion: authorization.k8s.io/v1\nkind: SubjectAccessReview\nspec:\n  user: system:serviceaccount:ml:runner\n  groups: [system:serviceaccounts, system:serviceaccounts:ml, system:authenticated]\n  resourceAttributes: {namespace: ml, verb: ${verb}, resource: configmaps}\n`;
    const yes = await k.kubectl(['create', '-f', '-', '-o', 'jsonpath={.status.allowed}'], sar('list'));
    assert.equal(yes.stdout, 'true', yes.stderr);
    const no = await k.kubectl(['create', '-f', '-', '-o', 'jsonpath={.status.allowed}'], sar('delete'));
    assert.equal(no.stdout, 'false', no.stderr);
    const asked = await asRunner(['create', '-f', '-'], sar('list'));
    assert.match(asked.stderr, /subjectaccessreviews\.authorization\.k8s\.io is forbidden: User "system:serviceaccount:ml:runner" cannot create resource "subjectaccessreviews" in API group "authorization\.k8s\.io" at the cluster scope/);
  });

  it('a token stops working when its ServiceAccount is deleted, and is not valid on another cluster', async () => {
    const sa = await k.kubectl(['create', 'serviceaccount', 'brief', '-n', 'ml']);
    assert.equal(sa.code, 0, sa.stderr);
    const t = (await k.kubectl(['create', 'token', 'brief', '-n', 'ml'])).stdout.trim();
    const agx = await k.kube.startCluster('agx');
    const other = await run('kubectl', ['--kubeconfig', agx.kubeconfigPath, `--token=${t}`, 'get', 'pods'], { HOME: process.env.HOME ?? '/tmp' });
    assert.match(other.stderr, /Unauthorized|provide credentials/);
    assert.equal((await k.kubectl([`--token=${t}`, 'auth', 'can-i', 'create', 'selfsubjectaccessreviews'])).stdout.trim(), 'yes');
    await k.kubectl(['delete', 'serviceaccount', 'brief', '-n', 'ml']);
    const gone = await k.kubectl([`--token=${t}`, 'get', 'pods', '-n', 'ml']);
    assert.match(gone.stderr, /Unauthorized|provide credentials/);
  });

  it('an external authorizer comes first; its no-opinion reason follows the RBAC denial (as GKE words an IAM refusal)', async () => {
    const cluster = k.dgx.cluster;
    cluster.options.authorize = (user, a) => (a.resource === 'secrets' && a.verb === 'list' ? 'allow' : { decision: 'no-opinion', reason: `requires one of ["container.${a.resource}.${a.verb}"] permission(s).` });
    try {
      const allowed = await asRunner(['get', 'secrets', '-n', 'ml']);
      assert.equal(allowed.code, 0, allowed.stderr);
      const denied = await asRunner(['create', 'configmap', 'x', '-n', 'ml']);
      assert.match(denied.stderr, /configmaps is forbidden: User "system:serviceaccount:ml:runner" cannot create resource "configmaps" in API group "" in the namespace "ml": requires one of \["container\.configmaps\.create"\] permission\(s\)\./);
    } finally {
      delete cluster.options.authorize;
    }
    assert.notEqual((await asRunner(['get', 'secrets', '-n', 'ml'])).code, 0);
  });
});

describe('the GKE cluster: Google identities are allowed until the IAM module decides; service accounts go through RBAC', () => {
  let k: KubeFixture;
  let dir: string;
  beforeAll(async () => {
    k = await startKube();
    dir = mkdtempSync(join(tmpdir(), 'rbac-gke-'));
  });
  afterAll(async () => {
    await k?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('whoami names the Google identity; a service account token is refused without a binding', async () => {
    const path = join(dir, 'gke.kubeconfig');
    writeFileSync(path, kubernetesOf(k.sb).kubeconfig('mlabs'));
    const env = { KUBECONFIG: path, HOME: process.env.HOME ?? '/tmp' };
    const w = await run('kubectl', ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], env);
    assert.match(w.stdout, /^kubernetes-admin@.*\.iam\.gserviceaccount\.com$/, w.stderr);
    assert.equal((await run('kubectl', ['create', 'serviceaccount', 'ci', '-n', 'default'], env)).code, 0);
    const t = (await run('kubectl', ['create', 'token', 'ci', '-n', 'default'], env)).stdout.trim();
    const r = await run('kubectl', [`--token=${t}`, 'get', 'jobs', '-n', 'default'], env);
    assert.match(r.stderr, /jobs\.batch is forbidden: User "system:serviceaccount:default:ci" cannot list resource "jobs" in API group "batch" in the namespace "default"/);
    const sc = await run('kubectl', ['get', 'storageclass', 'standard-rwo', '-o', 'jsonpath={.provisioner}'], env);
    assert.equal(sc.stdout, 'pd.csi.storage.gke.io', sc.stderr);
  });
});

/**
 * terraform/ as code that cannot be planned here (providers cannot be downloaded; GitHub's CI runs
 * init/validate): `terraform fmt`, and structural checks on the HCL parsed by @cdktf/hcl2json.
 */
import { test } from 'vitest';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../harness.js';

const TF = join(ROOT, 'terraform');

/** Every role granted anywhere in terraform/, with the reason it is needed. */
const ALLOWED_ROLES: Record<string, string> = {
  'roles/iam.workloadIdentityUser': 'the repository principalSet impersonates the CI service account (wif-login)',
  'roles/storage.objectAdmin': 'CI reads, writes and locks Terraform state in the state bucket only',
  'roles/container.clusterAdmin': 'platform-create/-destroy manage the cluster; node-pool actions and cost-cleanup manage GPU pools',
  'roles/container.developer': "train-private-first's burst creates its ConfigMap and Job and reads their logs; cost-cleanup reads pods",
  'roles/artifactregistry.admin': 'Terraform manages repositories and cleanup policies; image-merge pushes; image-prune deletes',
  'roles/storage.admin': 'Terraform manages the snapshot bucket; node-pool-snapshot/-restore write and read snapshots',
  'roles/storage.objectViewer': 'model-serve: serving nodes read the promoted models, on the models bucket only',
  'roles/compute.viewer': 'gpu-capacity reads accelerator types and regional quotas',
  'roles/compute.storageAdmin': 'cost-cleanup snapshots and deletes unattached disks',
  'roles/cloudquotas.admin': 'gpu-quota creates and updates QuotaPreferences',
  'roles/serviceusage.serviceUsageConsumer': 'calls APIs billed to the project',
  'roles/iam.serviceAccountUser': 'CI creates node pools that run as the node service account (that account only)',
  'roles/logging.logWriter': 'GKE nodes write logs',
  'roles/monitoring.metricWriter': 'GKE nodes write metrics',
  'roles/monitoring.viewer': "GKE nodes' metrics agent",
  'roles/stackdriver.resourceMetadata.writer': 'GKE nodes write resource metadata',
  'roles/artifactregistry.reader': 'GKE nodes pull images',
};

/** Roles that would let CI raise its own privileges or act as any identity: never granted. */
const FORBIDDEN_ROLES = ['roles/owner', 'roles/editor', 'roles/resourcemanager.projectIamAdmin', 'roles/iam.serviceAccountKeyAdmin', 'roles/iam.serviceAccountTokenCreator', 'roles/iam.securityAdmin'];

function tfFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return f.startsWith('.') ? [] : tfFiles(p);
    return f.endsWith('.tf') ? [p] : [];
  });
}

type Block = Record<string, unknown>;
interface Hcl {
  resource?: Record<string, Record<string, Block[]>>;
  output?: Record<string, Block[]>;
  variable?: Record<string, Block[]>;
  locals?: Block[];
  module?: Record<string, Block[]>;
  terraform?: Block[];
}

const parsed = new Map<string, Hcl>();
async function hcl(file: string): Promise<Hcl> {
  let v = parsed.get(file);
  if (!v) {
    v = (await parse(file, readFileSync(file, 'utf8'))) as Hcl;
    parsed.set(file, v);
  }
  return v;
}

async function dirHcl(dir: string): Promise<Hcl[]> {
  return Promise.all(tfFiles(join(TF, dir)).map(hcl));
}

async function resources(dir: string, type: string): Promise<[string, Block][]> {
  const out: [string, Block][] = [];
  for (const h of await dirHcl(dir)) for (const [name, blocks] of Object.entries(h.resource?.[type] ?? {})) for (const b of blocks) out.push([name, b]);
  return out;
}

async function outputsOf(dir: string): Promise<string[]> {
  return (await dirHcl(dir)).flatMap((h) => Object.keys(h.output ?? {}));
}

test('terraform fmt -check -recursive terraform/ passes', () => {
  const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', TF], { encoding: 'utf8' });
  assert.ok(!r.error, `terraform is not installed or not on PATH (${r.error?.message}): install Terraform >= 1.9 (scripts/install-test-deps.sh)`);
  assert.equal(r.status, 0, `terraform fmt found unformatted files (run terraform fmt -recursive terraform/):\n${r.stdout}${r.stderr}`);
});

test('the layout issue 12 asks for exists', () => {
  for (const d of ['bootstrap', 'modules/gke', 'modules/registry', 'modules/storage', 'modules/iam', 'envs/dev']) {
    assert.ok(tfFiles(join(TF, d)).length > 0, `terraform/${d} has .tf files`);
  }
  for (const d of ['bootstrap', 'envs/dev']) statSync(join(TF, d, 'terraform.tfvars.example'));
});

test('envs/dev uses a gcs backend; bootstrap keeps local state', async () => {
  const backends = (await dirHcl('envs/dev')).flatMap((h) => h.terraform ?? []).map((t) => (t as { backend?: Record<string, unknown> }).backend);
  assert.ok(backends.some((b) => b && 'gcs' in b), 'envs/dev has backend "gcs"');
  const boot = (await dirHcl('bootstrap')).flatMap((h) => h.terraform ?? []).map((t) => (t as { backend?: unknown }).backend);
  assert.ok(boot.every((b) => b === undefined), 'bootstrap has no remote backend');
});

test('the GitHub provider has the issuer, the mapping, and a required attribute condition that references the repository', async () => {
  const providers = await resources('bootstrap', 'google_iam_workload_identity_pool_provider');
  assert.equal(providers.length, 1);
  const [, p] = providers[0] as [string, Block];
  assert.deepEqual(p.oidc, [{ issuer_uri: 'https://token.actions.githubusercontent.com' }]);
  const mapping = p.attribute_mapping as Record<string, string>;
  for (const a of ['repository', 'repository_owner', 'ref', 'workflow_ref', 'environment']) assert.equal(mapping[`attribute.${a}`], `assertion.${a}`);
  assert.equal(mapping['google.subject'], 'assertion.sub');
  assert.ok(typeof p.attribute_condition === 'string' && p.attribute_condition !== '', 'attribute_condition is set');
  // It resolves to local.attribute_condition: the variable when given, else the repository check.
  const locals = Object.assign({}, ...(await dirHcl('bootstrap')).flatMap((h) => h.locals ?? [])) as Record<string, string>;
  const expr = /^\$\{local\.(\w+)\}$/.exec(p.attribute_condition as string)?.[1];
  const resolved = expr ? locals[expr] : (p.attribute_condition as string);
  assert.ok(resolved, 'the condition resolves');
  assert.match(resolved, /assertion\.repository == \\"\$\{var\.github_repository\}\\"/, 'the default admits only the configured repository');
  assert.match(resolved, /assertion\.repository in \[\$\{join\(", ", \[for r in local\.repositories : "\\"\$\{r\}\\""\]\)\}\]/, 'with project repositories, the default admits exactly the listed ones');
  assert.equal(locals.repositories, '${distinct(concat([var.github_repository], var.project_repositories))}');
  // The variable refuses an empty condition.
  const variable = (await dirHcl('bootstrap')).flatMap((h) => h.variable?.attribute_condition ?? [])[0] as { validation?: { condition: string; error_message: string }[] };
  assert.ok(variable?.validation?.some((v) => /trimspace\(var\.attribute_condition\) != ""/.test(v.condition)), 'a validation refuses an empty attribute_condition');
  const repo = (await dirHcl('bootstrap')).flatMap((h) => h.variable?.github_repository ?? [])[0] as { default?: string };
  assert.equal(repo?.default, 'mlabs/platform');
});

test('the CI service account is impersonable by the repository principalSet only', async () => {
  const grants = [...(await resources('bootstrap', 'google_service_account_iam_member')), ...(await resources('modules/iam', 'google_service_account_iam_member'))];
  const wif = grants.filter(([, g]) => g.role === 'roles/iam.workloadIdentityUser');
  assert.equal(wif.length, 2);
  const members = wif.map(([, g]) => String(g.member)).sort();
  assert.match(members[1] as string, /^principalSet:\/\/iam\.googleapis\.com\/\$\{google_iam_workload_identity_pool\.github\.name\}\/attribute\.repository\/\$\{var\.github_repository\}$/);
  // The projects' grant: one principalSet per listed repository (for_each over the variable), never a wildcard.
  assert.match(members[0] as string, /^principalSet:\/\/iam\.googleapis\.com\/\$\{google_iam_workload_identity_pool\.github\.name\}\/attribute\.repository\/\$\{each\.value\}$/);
  const project = wif.find(([, g]) => String(g.member).includes('each.value'))?.[1] as Record<string, unknown>;
  assert.equal(project.for_each, '${toset(var.project_repositories)}');
  for (const [, g] of grants) assert.doesNotMatch(String(g.member), /principalSet:.*\/\*|allUsers|allAuthenticatedUsers/);
});

test('no service account key exists anywhere, and no output exposes a key', async () => {
  for (const file of tfFiles(TF)) {
    const h = await hcl(file);
    assert.ok(!h.resource?.google_service_account_key, `${relative(ROOT, file)} declares google_service_account_key`);
    for (const [name, blocks] of Object.entries(h.output ?? {})) {
      assert.doesNotMatch(name, /key|private|credential/i, `${relative(ROOT, file)}: output ${name}`);
      assert.doesNotMatch(JSON.stringify(blocks), /private_key|google_service_account_key/, `${relative(ROOT, file)}: output ${name}`);
    }
  }
});

test('both buckets: uniform access, public access prevention, versioning; state and snapshot buckets prevent_destroy', async () => {
  const state = await resources('bootstrap', 'google_storage_bucket');
  const snaps = await resources('modules/storage', 'google_storage_bucket');
  assert.equal(state.length, 1);
  assert.deepEqual(snaps.map(([n]) => n).sort(), ['models', 'snapshots']);
  for (const [name, b] of [...state, ...snaps]) {
    assert.equal(b.uniform_bucket_level_access, true, `${name}: uniform_bucket_level_access`);
    assert.equal(b.public_access_prevention, 'enforced', `${name}: public_access_prevention`);
    assert.deepEqual(b.versioning, [{ enabled: true }], `${name}: versioning`);
    assert.notEqual(b.force_destroy, true, `${name}: force_destroy`);
    assert.deepEqual(b.lifecycle, [{ prevent_destroy: true }], `${name}: prevent_destroy`);
  }
  assert.equal(state[0]?.[1].name, '${local.state_bucket}');
  const bootLocals = Object.assign({}, ...(await dirHcl('bootstrap')).flatMap((h) => h.locals ?? [])) as Record<string, string>;
  assert.equal(bootLocals.state_bucket, '${var.project_id}-tfstate');
  const devLocals = Object.assign({}, ...(await dirHcl('envs/dev')).flatMap((h) => h.locals ?? [])) as Record<string, string>;
  assert.equal(devLocals.snapshot_bucket, '${var.project_id}-nodepool-snapshots');
  for (const [name, b] of snaps) assert.ok((b.lifecycle_rule as unknown[]).length > 0, `${name}: expires old versions`);
  assert.equal(devLocals.models_bucket, '${var.project_id}-models');
});

test('the models bucket: only read grants on the bucket itself, to the serving nodes', async () => {
  const grants = await resources('modules/storage', 'google_storage_bucket_iam_member');
  assert.deepEqual(grants.map(([n, b]) => [n, b.role, b.bucket]), [['model_readers', 'roles/storage.objectViewer', '${google_storage_bucket.models.name}']]);
  const modules = Object.fromEntries((await dirHcl('envs/dev')).flatMap((h) => Object.entries(h.module ?? {})).map(([n, b]) => [n, b[0] as Block]));
  assert.deepEqual(modules.storage?.models_reader_members, ['serviceAccount:${local.node_service_account_email}']);
});

test('GKE: Standard, Workload Identity, release channel, default pool removed, no inline node_pool, node pools ignored', async () => {
  const clusters = await resources('modules/gke', 'google_container_cluster');
  assert.equal(clusters.length, 1);
  const [, c] = clusters[0] as [string, Block];
  assert.equal(c.remove_default_node_pool, true);
  assert.notEqual(c.enable_autopilot, true);
  assert.ok(!('node_pool' in c), 'the cluster has no inline node_pool');
  assert.deepEqual(c.workload_identity_config, [{ workload_pool: '${var.project_id}.svc.id.goog' }]);
  assert.ok(Array.isArray(c.release_channel) && c.release_channel.length === 1);
  const ignore = (c.lifecycle as { ignore_changes?: string[] }[] | undefined)?.[0]?.ignore_changes ?? [];
  assert.ok(ignore.some((i) => /node_pool/.test(i)), `ignore_changes covers node_pool: ${JSON.stringify(ignore)}`);
  // No inline node_pool and no cluster anywhere else.
  for (const file of tfFiles(TF)) {
    for (const [name, blocks] of Object.entries((await hcl(file)).resource?.google_container_cluster ?? {})) {
      for (const b of blocks) assert.ok(!('node_pool' in b), `${relative(ROOT, file)}: ${name} has an inline node_pool`);
    }
  }
});

test('Terraform has exactly one node pool, the small CPU system pool: no GPU pool', async () => {
  const pools: [string, Block, string][] = [];
  for (const file of tfFiles(TF)) {
    for (const [name, blocks] of Object.entries((await hcl(file)).resource?.google_container_node_pool ?? {})) for (const b of blocks) pools.push([name, b, file]);
  }
  assert.equal(pools.length, 1, pools.map((p) => p[0]).join(', '));
  const [name, pool] = pools[0] as [string, Block, string];
  assert.equal(name, 'system');
  const cfg = (pool.node_config as Block[])[0] as Block;
  assert.deepEqual(cfg.labels, { 'mlabs-role': 'system' });
  const text = JSON.stringify(pool);
  assert.doesNotMatch(text, /guest_accelerator|nvidia|accelerator/i, 'no GPU in the system pool');
  const variables = (await dirHcl('modules/gke')).flatMap((h) => Object.entries(h.variable ?? {}));
  const machine = variables.find(([n]) => n === 'system_machine_type')?.[1][0] as { default?: string } | undefined;
  assert.match(machine?.default ?? '', /^e2-/);
  for (const file of tfFiles(TF)) assert.doesNotMatch(readFileSync(file, 'utf8'), /guest_accelerator/, relative(ROOT, file));
});

test('Artifact Registry: apps and mlabs-runner, Docker, with cleanup policies', async () => {
  const repos = await resources('modules/registry', 'google_artifact_registry_repository');
  assert.equal(repos.length, 1);
  const [, r] = repos[0] as [string, Block];
  assert.equal(r.format, 'DOCKER');
  assert.equal(r.cleanup_policy_dry_run, false);
  const policies = r.cleanup_policies as { action: string }[];
  assert.deepEqual(policies.map((p) => p.action).sort(), ['DELETE', 'KEEP']);
  const variables = Object.fromEntries((await dirHcl('envs/dev')).flatMap((h) => Object.entries(h.variable ?? {})).map(([n, b]) => [n, b[0] as { default?: unknown }]));
  assert.deepEqual(variables.repositories?.default, ['apps']);
  assert.equal(variables.runner_repository?.default, 'mlabs-runner');
});

test('the mlabs-runner repository is a module of its own, outside the default destroy of platform-destroy, moved (not recreated) from module.registry', async () => {
  const modules = Object.fromEntries((await dirHcl('envs/dev')).flatMap((h) => Object.entries(h.module ?? {})).map(([n, b]) => [n, b[0] as Block]));
  assert.equal(modules.registry?.source, '../../modules/registry');
  assert.equal(modules.registry?.repositories, '${var.repositories}');
  assert.equal(modules.runner_registry?.source, '../../modules/registry', 'the same module: the same cleanup policies');
  assert.deepEqual(modules.runner_registry?.repositories, ['${var.runner_repository}']);
  // module.registry may never take the runner repository back.
  const repositories = (await dirHcl('envs/dev')).flatMap((h) => h.variable?.repositories ?? [])[0] as { validation?: { condition: string }[] };
  assert.ok(repositories.validation?.some((v) => v.condition === '${!contains(var.repositories, var.runner_repository)}'), JSON.stringify(repositories.validation));
  // An existing state moves the repository (and its images) to the new address.
  const moved = (await dirHcl('envs/dev')).flatMap((h) => ((h as { moved?: Block[] }).moved ?? []));
  assert.deepEqual(moved, [
    {
      from: '${module.registry.google_artifact_registry_repository.this["mlabs-runner"]}',
      to: '${module.runner_registry.google_artifact_registry_repository.this["mlabs-runner"]}',
    },
  ]);
  const outputs = Object.fromEntries((await dirHcl('envs/dev')).flatMap((h) => Object.entries(h.output ?? {})).map(([n, b]) => [n, b[0] as Block]));
  assert.equal(outputs.runner_registry?.value, '${module.runner_registry.repository_urls[var.runner_repository]}');
  // platform-destroy's default targets leave it alone (the plan step itself runs in platform-workflows.test.ts).
  const destroy = readFileSync(join(ROOT, 'workflows/platform-destroy.yml'), 'utf8');
  assert.match(destroy, /targets=\(-target=module\.gke -target=module\.registry\)\n/);
  assert.match(destroy, /if \[ "\$DELETE_RUNNER_IMAGES" = true \]; then targets\+=\(-target=module\.runner_registry\); fi/);
});

test('every variable has a description; every validation has an error message; the key variables are validated', async () => {
  const validated = new Set<string>();
  for (const file of tfFiles(TF)) {
    for (const [name, blocks] of Object.entries((await hcl(file)).variable ?? {})) {
      const v = blocks[0] as { description?: string; validation?: { condition: string; error_message: string }[] };
      assert.ok(v.description, `${relative(ROOT, file)}: variable ${name} has a description`);
      for (const val of v.validation ?? []) {
        assert.ok(val.error_message.length > 20, `${relative(ROOT, file)}: ${name} says what is accepted`);
        validated.add(name);
      }
    }
  }
  for (const name of ['project_id', 'region', 'zones', 'github_repository', 'repositories', 'cluster_name', 'attribute_condition', 'project_repositories']) {
    assert.ok(validated.has(name), `variable ${name} is validated`);
  }
  const defaults = Object.fromEntries(
    (await dirHcl('envs/dev')).flatMap((h) => Object.entries(h.variable ?? {})).map(([n, b]) => [n, (b[0] as { default?: unknown }).default]),
  );
  assert.equal(defaults.project_id, 'mlabs-demo');
  assert.equal(defaults.region, 'us-central1');
  assert.equal(defaults.cluster_name, 'mlabs');
});

test('every IAM role granted is in the allowed list with its reason, and each grant in modules/iam is commented', async () => {
  const granted = new Set<string>();
  for (const file of tfFiles(TF)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/"(roles\/[A-Za-z0-9_.]+)"/g)) granted.add(m[1] as string);
    for (const line of text.split('\n')) {
      if (/^\s*(role\s*=\s*)?"roles\//.test(line)) assert.match(line, /#\s*\S+/, `${relative(ROOT, file)}: the role on "${line.trim()}" has a comment naming the action that needs it`);
    }
    // Project-level grants only through the listed roles (no role literal hidden behind a variable).
    for (const [name, blocks] of Object.entries((await hcl(file)).resource?.google_project_iam_member ?? {})) {
      for (const b of blocks) assert.equal(b.role, '${each.value}', `${relative(ROOT, file)}: ${name} grants from the commented list`);
    }
    assert.ok(!(await hcl(file)).resource?.google_project_iam_binding, 'no authoritative bindings that could strip other members');
    assert.ok(!(await hcl(file)).resource?.google_project_iam_policy, 'no authoritative policy');
  }
  for (const role of granted) {
    assert.ok(role in ALLOWED_ROLES, `${role} is granted but not in the allowed list`);
    assert.ok(!FORBIDDEN_ROLES.includes(role), `${role} must never be granted`);
  }
  assert.ok(granted.has('roles/iam.workloadIdentityUser'));
  assert.ok(granted.size >= 10, [...granted].join(', '));
});

test('envs/dev declares every output the workflows read', async () => {
  const outputs = new Set(await outputsOf('envs/dev'));
  const read = new Set<string>();
  for (const f of ['platform-create.yml', 'platform-destroy.yml']) {
    const text = readFileSync(join(ROOT, 'workflows', f), 'utf8');
    parseYaml(text); // valid YAML
    for (const m of text.matchAll(/terraform output(?: -raw| -json)? "?([a-z_]+)"?/g)) read.add(m[1] as string);
    // The loop in platform-create names its outputs in a `for name in ...` list.
    for (const m of text.matchAll(/for name in ([a-z_ ]+); do/g)) for (const n of (m[1] as string).split(' ')) if (n) read.add(n);
  }
  read.delete('name');
  assert.ok(read.size >= 5, `outputs read: ${[...read].join(', ')}`);
  for (const name of read) assert.ok(outputs.has(name), `a workflow reads terraform output ${name}, which envs/dev does not declare`);
  for (const name of ['cluster_name', 'location', 'snapshot_bucket', 'registry', 'project_id']) assert.ok(outputs.has(name), name);
  const boot = new Set(await outputsOf('bootstrap'));
  for (const name of ['workload_identity_provider', 'service_account', 'state_bucket']) assert.ok(boot.has(name), `bootstrap outputs ${name}`);
});

/** bootstrap's `known_variables` map (name -> HCL expression of its value); `repository_variables` keeps those with a value. */
async function bootstrapVariables(): Promise<Record<string, string>> {
  const locals = (await dirHcl('bootstrap')).flatMap((h) => h.locals ?? []);
  const map = locals.map((l) => l.known_variables).find((v) => v && typeof v === 'object') as Record<string, string> | undefined;
  assert.ok(map, 'bootstrap has a local known_variables map');
  const kept = locals.map((l) => l.repository_variables).find((v) => typeof v === 'string');
  assert.equal(kept, '${{ for name, value in local.known_variables : name => value if value != "" }}', 'repository_variables drops the empty ones (GitHub refuses an empty variable)');
  return map;
}

test('the repository variables the platform workflows read are the ones bootstrap prints', async () => {
  const printed = await bootstrapVariables();
  const outputs = Object.assign({}, ...(await dirHcl('bootstrap')).map((h) => h.output ?? {})) as Record<string, Block[]>;
  assert.equal(outputs.repository_variables?.[0]?.value, '${local.repository_variables}');
  for (const f of ['platform-create.yml', 'platform-destroy.yml']) {
    const text = readFileSync(join(ROOT, 'workflows', f), 'utf8');
    const vars = [...text.matchAll(/\bvars\.([A-Z_]+)/g)].map((m) => m[1] as string);
    assert.ok(vars.includes('MLABS_WIF_PROVIDER') && vars.includes('MLABS_CI_SERVICE_ACCOUNT') && vars.includes('MLABS_CONTROL_RUNNER'), f);
    for (const v of vars) assert.ok(v in printed, `${f} reads vars.${v}, which bootstrap's repository_variables output does not print`);
  }
  assert.equal(printed.MLABS_PROJECT_ID, '${var.project_id}');
  assert.equal(printed.MLABS_REGION, '${var.region}');
  assert.equal(printed.MLABS_CONTROL_RUNNER, '${var.control_runner}');
});

test('bootstrap prints one ready `gh variable set NAME --body VALUE` line per repository variable', async () => {
  const printed = await bootstrapVariables();
  const outputs = Object.assign({}, ...(await dirHcl('bootstrap')).map((h) => h.output ?? {})) as Record<string, Block[]>;
  const value = outputs.github_variables_commands?.[0]?.value;
  assert.equal(typeof value, 'string', 'bootstrap has an output github_variables_commands');
  const expr = /^\$\{([\s\S]*)\}$/.exec(value as string)?.[1];
  assert.ok(expr, `one expression: ${String(value)}`);
  // Evaluate the output's own expression with terraform over sample values (no provider needed).
  const names = Object.keys(printed);
  const sample = Object.fromEntries(names.map((n, i) => [n, i === 0 ? 'projects/1/locations/global/workloadIdentityPools/github/providers/github-actions' : `value-${i}`]));
  const dir = mkdtempSync(join(tmpdir(), 'mlabs-tf-gh-'));
  try {
    writeFileSync(
      join(dir, 'main.tf'),
      `variable "github_repository" {\n  default = "acme/platform"\n}\nlocals {\n  repository_variables = ${JSON.stringify(sample)}\n}\n`.replace(/":"/g, '" = "').replace(/","/g, '", "'),
    );
    const r = spawnSync('terraform', ['console'], { cwd: dir, input: `${expr}\n`, encoding: 'utf8', env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('gh '));
    assert.deepEqual(
      lines,
      names.sort().map((n) => `gh variable set ${n} --repo acme/platform --body '${sample[n]}'`),
      r.stdout,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Each value is safe inside the single quotes: none of bootstrap's values can hold one.
  for (const v of ['project_id', 'region', 'control_runner', 'github_repository']) {
    const variable = (await dirHcl('bootstrap')).flatMap((h) => Object.entries(h.variable ?? {})).find(([n]) => n === v)?.[1][0] as { validation?: unknown[] } | undefined;
    assert.ok(variable?.validation?.length, `bootstrap validates ${v}`);
  }
});

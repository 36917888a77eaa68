// Machine shapes and the everyday gcloud commands, proven with real gcloud against the sandbox.
// Every gcloud here runs with HTTPS_PROXY pointing at a closed port: a request to any real Google
// host fails, so each command passing shows it reached only the sandbox (plain http on 127.0.0.1).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { GPU_TYPES } from '../../actions/lib/gpu.js';
import { SHAPES_FILE } from '../../scripts/sandbox/apis/compute.js';
import { startSandbox, type Sandbox } from '../../scripts/sandbox/index.js';

type Json = Record<string, unknown>;

let sb: Sandbox;
let config: string;
let work: string;
beforeAll(async () => {
  let present = true;
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore' });
  } catch {
    present = false;
  }
  assert.ok(present, 'gcloud is not on PATH: install the Google Cloud CLI (google-cloud-cli) to run the sandbox round-trips');
  // gcloud as the project's owner: these tests prove the shapes GKE and Compute accept or refuse, not IAM (test/sandbox/iam.test.ts does).
  sb = await startSandbox({ operationMs: 0, caller: 'admin' });
  config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
  work = mkdtempSync(join(tmpdir(), 'shapes-'));
});
afterAll(async () => {
  await sb?.stop();
  for (const d of [config, work]) if (d) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(args: string[], json = true): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'gcloud',
      json ? [...args, '--format=json'] : args,
      {
        env: { ...process.env, ...sb.env, CLOUDSDK_CONFIG: config, HTTPS_PROXY: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', NO_PROXY: '127.0.0.1', no_proxy: '127.0.0.1' },
        timeout: 90_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
async function gcloud(args: string[]): Promise<unknown> {
  const r = await run(args);
  assert.equal(r.code, 0, `gcloud ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout || 'null');
}
async function refused(args: string[], message: string): Promise<void> {
  const r = await run(args);
  assert.notEqual(r.code, 0, `gcloud ${args.join(' ')} should have failed: ${r.stdout}`);
  assert.ok(r.stderr.includes(message), `expected "${message}" in: ${r.stderr}`);
}

const POOL = ['--cluster', 'mlabs', '--location', 'us-central1'];
const create = (name: string, zone: string, ...rest: string[]): string[] => [
  'container', 'node-pools', 'create', name, ...POOL, '--node-locations', zone, '--num-nodes', '1', ...rest,
];

describe('catalog', () => {
  test('the accelerator catalog is the suite\'s: every type gpu.ts knows, its zones, its quota metrics, and the date it reflects', async () => {
    const data = JSON.parse(readFileSync(SHAPES_FILE, 'utf8')) as { reflects: string; sources: string[]; acceleratorTypes: Record<string, Json> };
    assert.match(data.reflects, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(data.sources.some((s) => s.includes('gpu-regions-zones')));
    const listed = (await gcloud(['compute', 'accelerator-types', 'list'])) as Json[];
    const zonesOf = (name: string): string[] => listed.filter((a) => a.name === name).map((a) => String(a.zone).split('/').pop() as string).sort();
    for (const t of GPU_TYPES) {
      const entry = data.acceleratorTypes[t.name];
      assert.ok(entry, `${t.name} is in the sandbox catalog`);
      assert.equal(entry.metric, t.metric, t.name);
      assert.equal(entry.preemptibleMetric, t.preemptibleMetric, t.name);
      assert.equal(entry.gpuFamily, t.gpuFamily, t.name);
      assert.deepEqual(zonesOf(t.name), [...(entry.zones as string[])].sort(), `${t.name} is listed in exactly its zones`);
    }
    assert.ok(zonesOf('nvidia-tesla-a100').includes('us-central1-a'));
    assert.ok(!zonesOf('nvidia-tesla-p100').includes('us-central1-a'));
    const a100 = (await gcloud(['compute', 'accelerator-types', 'describe', 'nvidia-tesla-a100', '--zone', 'us-central1-a'])) as Json;
    assert.equal(a100.maximumCardsPerInstance, 16);
  });

  test('every GPU family has its regional quotas, on-demand and PREEMPTIBLE_, in each region that offers it; gcloud reads them from regions describe', async () => {
    const data = JSON.parse(readFileSync(SHAPES_FILE, 'utf8')) as { acceleratorTypes: Record<string, { zones: string[] }> };
    for (const t of GPU_TYPES) {
      const regions = [...new Set(data.acceleratorTypes[t.name]?.zones.map((z) => z.replace(/-[a-z]$/, '')))];
      assert.ok(regions.length > 0, t.name);
      for (const region of regions) {
        for (const metric of [t.metric, t.preemptibleMetric]) assert.ok(sb.ctx.quota.find(metric, region), `the seed has ${metric} in ${region}`);
      }
    }
    const central = (await gcloud(['compute', 'regions', 'describe', 'us-central1'])) as { quotas: { metric: string; limit: number }[] };
    const metrics = new Set(central.quotas.map((q) => q.metric));
    for (const t of GPU_TYPES) for (const m of [t.metric, t.preemptibleMetric]) assert.ok(metrics.has(m), `regions describe us-central1 lists ${m}`);
    assert.equal(central.quotas.find((q) => q.metric === 'NVIDIA_A100_GPUS')?.limit, 16);
  });

  test('machine-types list --zones and describe: CPUs, memory and the GPUs A2/A3/G2 types carry; zone availability', async () => {
    const list = (await gcloud(['compute', 'machine-types', 'list', '--zones', 'us-central1-a'])) as Json[];
    const byName = new Map(list.map((m) => [String(m.name), m]));
    assert.ok(list.every((m) => String(m.zone).endsWith('us-central1-a')));
    const g2 = byName.get('g2-standard-24') as Json;
    assert.equal(g2.guestCpus, 24);
    assert.equal(g2.memoryMb, 98304);
    assert.deepEqual(g2.accelerators, [{ guestAcceleratorType: 'nvidia-l4', guestAcceleratorCount: 2 }]);
    assert.equal((byName.get('e2-standard-4') as Json).guestCpus, 4);
    assert.equal((byName.get('e2-standard-4') as Json).accelerators, undefined);
    assert.equal((byName.get('n1-standard-8') as Json).memoryMb, 30720);
    // Every machine type the suite picks for a GPU count exists, and an A/G type carries exactly those GPUs
    // (one aggregated list: gcloud without --zones calls machineTypes.aggregatedList).
    const everywhere = (await gcloud(['compute', 'machine-types', 'list'])) as Json[];
    assert.ok(sb.requests.some((r) => r.rpc === 'AggregatedList' && r.path.endsWith('/aggregated/machineTypes')));
    for (const t of GPU_TYPES) {
      for (const [count, machine] of Object.entries(t.machineTypes)) {
        const m = everywhere.find((x) => x.name === machine);
        assert.ok(m, `${machine} (${t.name} x${count}) is offered somewhere`);
        if (!machine.startsWith('n1-')) assert.deepEqual(m.accelerators, [{ guestAcceleratorType: t.name, guestAcceleratorCount: Number(count) }], machine);
      }
    }
    const h100 = (await gcloud(['compute', 'machine-types', 'describe', 'a3-highgpu-8g', '--zone', 'us-central1-a'])) as Json;
    assert.equal(h100.guestCpus, 208);
    await refused(['compute', 'machine-types', 'describe', 'g2-standard-4', '--zone', 'us-central1-f'], "machineTypes/g2-standard-4' was not found");
    const all = (await gcloud(['compute', 'machine-types', 'list', '--filter', 'name=a2-ultragpu-1g'])) as Json[];
    assert.deepEqual(all.map((m) => String(m.zone).split('/').pop()).sort(), ['europe-west4-a', 'us-central1-a', 'us-central1-c', 'us-east4-c']);
  });
});

describe('GKE node pool shapes', () => {
  test('create refuses what GKE refuses, in its words, and makes nothing', async () => {
    await refused(create('bad1', 'us-central1-a', '--machine-type', 'not-a-machine'), 'Invalid machine type "not-a-machine" in zone "us-central1-a": GCE_NOT_FOUND');
    await refused(create('bad2', 'us-central1-a', '--machine-type', 'e2-standard-4', '--accelerator', 'type=nvidia-tesla-t4,count=1'), '[e2-standard-4, nvidia-tesla-t4] features are not compatible for creating instance.');
    await refused(create('bad3', 'us-central1-a', '--machine-type', 'n2-standard-8', '--accelerator', 'type=nvidia-tesla-t4,count=1'), '[n2-standard-8, nvidia-tesla-t4] features are not compatible for creating instance.');
    await refused(create('bad4', 'us-central1-a', '--machine-type', 'g2-standard-4', '--accelerator', 'type=nvidia-tesla-t4,count=1'), '[g2-standard-4, nvidia-tesla-t4] features are not compatible for creating instance.');
    await refused(create('bad5', 'us-central1-a', '--machine-type', 'g2-standard-4', '--accelerator', 'type=nvidia-l4,count=2'), 'Accelerator count 2 is not valid for machine type g2-standard-4');
    await refused(create('bad6', 'us-central1-a', '--machine-type', 'n1-standard-8', '--accelerator', 'type=nvidia-tesla-t4,count=3'), 'Accelerator count 3 is not valid for machine type n1-standard-8');
    await refused(create('bad7', 'us-central1-a', '--machine-type', 'n1-standard-8', '--accelerator', 'type=nvidia-tesla-p100,count=1'), 'Accelerator type "nvidia-tesla-p100" does not exist in zone us-central1-a.');
    await refused(create('bad8', 'us-central1-f', '--machine-type', 'g2-standard-4'), 'Invalid machine type "g2-standard-4" in zone "us-central1-f": GCE_NOT_FOUND');
    const pools = (await gcloud(['container', 'node-pools', 'list', ...POOL])) as Json[];
    assert.deepEqual(pools.map((p) => p.name), ['system']);
  });

  test('an A2/G2 type without --accelerator gets its built-in GPUs, which count against quota', async () => {
    const l4Usage = async (): Promise<number> => {
      const region = (await gcloud(['compute', 'regions', 'describe', 'us-central1'])) as Json;
      return Number(((region.quotas as Json[]).find((q) => q.metric === 'NVIDIA_L4_GPUS') as Json).usage);
    };
    const before = await l4Usage();
    await gcloud(create('l4x2', 'us-central1-a', '--machine-type', 'g2-standard-24'));
    const np = (await gcloud(['container', 'node-pools', 'describe', 'l4x2', ...POOL])) as Json;
    assert.deepEqual((np.config as Json).accelerators, [{ acceleratorCount: '2', acceleratorType: 'nvidia-l4' }]);
    assert.equal(await l4Usage(), before + 2);
    // 8 more L4s built into g2-standard-96 exceed the regional limit of 8: GKE's quota 403.
    await refused(create('l4x8', 'us-central1-b', '--machine-type', 'g2-standard-96'), 'Insufficient regional quota to satisfy request: resource "NVIDIA_L4_GPUS"');
    await gcloud(create('a100', 'us-central1-a', '--machine-type', 'a2-highgpu-1g'));
    const a100 = (await gcloud(['container', 'node-pools', 'describe', 'a100', ...POOL])) as Json;
    assert.deepEqual((a100.config as Json).accelerators, [{ acceleratorCount: '1', acceleratorType: 'nvidia-tesla-a100' }]);
    await gcloud(['container', 'node-pools', 'delete', 'a100', ...POOL, '--quiet']);
  });

  test('node-pools update (labels, taints, locations, autoscaling) and rollback', async () => {
    await gcloud(['container', 'node-pools', 'update', 'l4x2', ...POOL, '--node-labels', 'team=ml,tier=gpu']);
    await gcloud(['container', 'node-pools', 'update', 'l4x2', ...POOL, '--node-taints', 'nvidia.com/gpu=present:NoSchedule']);
    await gcloud(['container', 'node-pools', 'update', 'l4x2', ...POOL, '--node-locations', 'us-central1-a,us-central1-b']);
    await refused(['container', 'node-pools', 'update', 'l4x2', ...POOL, '--node-locations', 'us-central1-a,us-central1-f'], 'Invalid machine type "g2-standard-24" in zone "us-central1-f"');
    await gcloud(['container', 'node-pools', 'update', 'l4x2', ...POOL, '--enable-autoscaling', '--min-nodes', '0', '--max-nodes', '2']);
    const np = (await gcloud(['container', 'node-pools', 'describe', 'l4x2', ...POOL])) as Json;
    const cfg = np.config as Json;
    assert.deepEqual(cfg.labels, { team: 'ml', tier: 'gpu' });
    assert.deepEqual(cfg.taints, [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }]);
    assert.deepEqual(np.locations, ['us-central1-a', 'us-central1-b']);
    assert.deepEqual(np.autoscaling, { enabled: true, minNodeCount: 0, maxNodeCount: 2 });
    await gcloud(['container', 'node-pools', 'rollback', 'l4x2', ...POOL, '--quiet']);
    assert.equal(((await gcloud(['container', 'node-pools', 'describe', 'l4x2', ...POOL])) as Json).status, 'RUNNING');
    await gcloud(['container', 'node-pools', 'delete', 'l4x2', ...POOL, '--quiet']);
  });

  test('clusters update: labels, logging, node pool autoscaling', async () => {
    await gcloud(['container', 'clusters', 'update', 'mlabs', '--location', 'us-central1', '--update-labels', 'env=demo']);
    await gcloud(['container', 'clusters', 'update', 'mlabs', '--location', 'us-central1', '--logging=SYSTEM']);
    await gcloud(['container', 'clusters', 'update', 'mlabs', '--location', 'us-central1', '--enable-autoscaling', '--node-pool', 'system', '--min-nodes', '1', '--max-nodes', '4']);
    const c = (await gcloud(['container', 'clusters', 'describe', 'mlabs', '--location', 'us-central1'])) as Json;
    assert.deepEqual(c.resourceLabels, { env: 'demo' });
    assert.deepEqual(((c.loggingConfig as Json).componentConfig as Json).enableComponents, ['SYSTEM_COMPONENTS']);
    const system = (c.nodePools as Json[]).find((p) => p.name === 'system') as Json;
    assert.deepEqual(system.autoscaling, { enabled: true, minNodeCount: 1, maxNodeCount: 4 });
    assert.ok(sb.requests.some((r) => r.rpc === 'UpdateCluster') && sb.requests.some((r) => r.rpc === 'SetLabels'));
  });
});

describe('Cloud Storage', () => {
  test('gcloud storage mv and rm -r (storageLayout)', async () => {
    const file = join(work, 'a.txt');
    writeFileSync(file, 'one\n');
    const b = 'gs://mlabs-demo-nodepool-snapshots';
    await gcloud(['storage', 'cp', file, `${b}/dir/a.txt`]);
    await gcloud(['storage', 'cp', file, `${b}/dir/b.txt`]);
    await gcloud(['storage', 'mv', `${b}/dir/a.txt`, `${b}/dir/c.txt`]);
    const ls = await run(['storage', 'ls', `${b}/dir/`], false);
    assert.deepEqual(ls.stdout.trim().split('\n'), [`${b}/dir/b.txt`, `${b}/dir/c.txt`]);
    await gcloud(['storage', 'rm', '-r', `${b}/dir`]);
    const after = await run(['storage', 'ls', `${b}/`], false);
    assert.ok(!after.stdout.includes('dir/'), after.stdout);
    assert.ok(sb.requests.some((r) => r.rpc === 'buckets.getStorageLayout' && r.status === 200));
  });

  test('a versioned bucket keeps noncurrent generations: ls -a, read one, delete one', async () => {
    const v = 'gs://mlabs-demo-tfstate';
    const one = join(work, 'one');
    const two = join(work, 'two');
    writeFileSync(one, 'one\n');
    writeFileSync(two, 'two\n');
    await gcloud(['storage', 'cp', one, `${v}/env.tfstate`]);
    await gcloud(['storage', 'cp', two, `${v}/env.tfstate`]);
    const all = (await run(['storage', 'ls', '-a', `${v}/env.tfstate`], false)).stdout.trim().split('\n');
    assert.equal(all.length, 2, all.join('\n'));
    assert.ok(all.every((u) => /#\d+$/.test(u)));
    const [older, newer] = all as [string, string];
    assert.equal((await run(['storage', 'cat', older], false)).stdout, 'one\n');
    assert.equal((await run(['storage', 'cat', `${v}/env.tfstate`], false)).stdout, 'two\n');
    await gcloud(['storage', 'rm', older]);
    assert.deepEqual((await run(['storage', 'ls', '-a', `${v}/env.tfstate`], false)).stdout.trim().split('\n'), [newer]);
    // Deleting the live object keeps it as noncurrent: gone from ls, still in ls -a.
    await gcloud(['storage', 'rm', `${v}/env.tfstate`]);
    assert.equal((await run(['storage', 'ls', `${v}/env.tfstate`], false)).code, 1);
    assert.deepEqual((await run(['storage', 'ls', '-a', `${v}/env.tfstate`], false)).stdout.trim().split('\n'), [newer]);
  });
});

describe('Artifact Registry, Service Usage, IAM, Resource Manager', () => {
  test('artifacts locations list and repositories create (a second create is ALREADY_EXISTS)', async () => {
    const locs = (await gcloud(['artifacts', 'locations', 'list'])) as Json[];
    assert.ok(locs.some((l) => l.name === 'us-central1'), JSON.stringify(locs));
    await gcloud(['artifacts', 'repositories', 'create', 'models', '--repository-format', 'docker', '--location', 'us-central1', '--description', 'Model images']);
    const repo = (await gcloud(['artifacts', 'repositories', 'describe', 'models', '--location', 'us-central1'])) as Json;
    assert.equal(repo.format, 'DOCKER');
    assert.equal(repo.description, 'Model images');
    await refused(['artifacts', 'repositories', 'create', 'models', '--repository-format', 'docker', '--location', 'us-central1'], 'ALREADY_EXISTS: the repository already exists');
  });

  test('services list --enabled, iam service-accounts list, workload-identity-pools list, projects describe', async () => {
    const services = (await gcloud(['services', 'list', '--enabled'])) as Json[];
    const names = services.map((s) => (s.config as Json).name);
    for (const s of ['container.googleapis.com', 'compute.googleapis.com', 'iamcredentials.googleapis.com', 'sts.googleapis.com']) assert.ok(names.includes(s), s);
    const accounts = (await gcloud(['iam', 'service-accounts', 'list'])) as Json[];
    assert.deepEqual(accounts.map((a) => a.email).sort(), ['mlabs-ci@mlabs-demo.iam.gserviceaccount.com', 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com']);
    const policy = (await gcloud(['iam', 'service-accounts', 'get-iam-policy', 'mlabs-nodes@mlabs-demo.iam.gserviceaccount.com'])) as Json;
    assert.deepEqual(policy.bindings, [{ role: 'roles/iam.serviceAccountUser', members: ['serviceAccount:mlabs-ci@mlabs-demo.iam.gserviceaccount.com'] }]);
    const pools = (await gcloud(['iam', 'workload-identity-pools', 'list', '--location', 'global'])) as Json[];
    assert.deepEqual(pools.map((p) => p.name), ['projects/123456789012/locations/global/workloadIdentityPools/github']);
    const providers = (await gcloud(['iam', 'workload-identity-pools', 'providers', 'list', '--workload-identity-pool', 'github', '--location', 'global'])) as Json[];
    assert.equal(providers[0]?.attributeCondition, 'assertion.repository == "mlabs/platform"');
    const project = (await gcloud(['projects', 'describe', 'mlabs-demo'])) as Json;
    assert.equal(project.projectNumber, '123456789012');
    for (const api of ['serviceusage', 'iam', 'cloudresourcemanager']) assert.ok(sb.requests.some((r) => r.api === api && r.status === 200), api);
  });
});

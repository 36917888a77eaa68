/**
 * `npm run demo`: the platform lifecycle, end to end, by running the workflow files in workflows/
 * in order through the local workflow runner (scripts/workflow/) on one embedded sandbox:
 * platform-create, gpu-quota-request, train-private-first bursting to GKE, gke-gpu-expand,
 * gke-gpu-destroy, gke-gpu-restore with a stockout in the first zone, cost-cleanup (as its schedule),
 * local-stack-deploy and -undeploy on the DGX, gpu-quota-release, platform-destroy.
 *
 * Each run is printed as the Actions tab shows it: jobs, steps with outcome and time, their first
 * log lines, the job summaries trimmed. Steps that called a recorded stand-in (terraform, docker,
 * helm, minikube, nvidia-smi) instead of the real tool say so; gcloud and kubectl are the real ones,
 * against the sandbox. Nothing leaves this machine.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSandbox } from './sandbox/index.js';
import { MACHINES, kubernetesOf } from './sandbox/kubernetes/index.js';
import { sandboxDefaults } from './workflow/defaults.js';
import { printer } from './workflow/print.js';
import { runWorkflow, type Event, type WorkflowRunResult } from './workflow/runner.js';

const ROOT = join(import.meta.dirname, '..');
const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);

interface Stage {
  file: string;
  why: string;
  inputs?: Record<string, string>;
  event?: Event;
  /** Run just before the workflow (a fault to inject). */
  before?: () => void;
}

/** The real tools the workflows' run: steps call; missing ones stop the demo before it starts. */
async function requireTools(): Promise<void> {
  const missing: string[] = [];
  for (const tool of ['gcloud', 'kubectl', 'gke-gcloud-auth-plugin', 'openssl']) {
    try {
      await promisify(execFile)('sh', ['-c', 'command -v "$1"', 'sh', tool]);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length) {
    console.error(`npm run demo runs the workflows' real gcloud and kubectl against the sandbox; not on PATH: ${missing.join(', ')}. gcloud, kubectl and gke-gcloud-auth-plugin come with the Google Cloud CLI and its components (https://cloud.google.com/sdk/docs/install), openssl with the OS; then run it again.`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  await requireTools();
  const started = Date.now();
  console.log(bold('mlabs-actions: the platform lifecycle, running the workflow files on the local sandbox'));
  const sb = await startSandbox({ port: 0, operationMs: 200 });
  const kube = kubernetesOf(sb);
  const machineKubeconfigs: Record<string, string> = {};
  for (const machine of Object.keys(MACHINES)) {
    await kube.startCluster(machine);
    machineKubeconfigs[machine] = kube.kubeconfig(machine);
  }
  const { vars, secrets } = sandboxDefaults(sb);
  const scratch = mkdtempSync(join(tmpdir(), 'mlabs-demo-'));
  console.log(dim(`sandbox ${sb.url}: project ${sb.project.projectId}; the self-hosted machines wsl2, dgx and agx run here; gcloud and kubectl are real, terraform/docker/helm/minikube/nvidia-smi are recorded stand-ins`));

  const zones = 'us-central1-a,us-central1-b';
  const stages: Stage[] = [
    { file: 'platform-create.yml', why: 'Create the platform with terraform (the recorded stand-in; its plan summary gate runs for real)' },
    { file: 'gpu-quota-request.yml', why: 'Make sure the GPU quota is there (files a quota preference when short)' },
    {
      file: 'train-private-first.yml',
      why: 'Route a 40 GB amd64 training job private first: no machine fits, policy allows a burst, so it runs on a GKE pool made for it',
      inputs: { allow_cloud: 'true', gpu_memory_gb: '40', arch: 'amd64', data_class: 'public' },
    },
    { file: 'gke-gpu-expand.yml', why: 'Add a standing L4 pool', inputs: { zones } },
    { file: 'gke-gpu-destroy.yml', why: 'Destroy it (snapshot to GCS first): it costs money every hour it exists' },
    {
      file: 'gke-gpu-restore.yml',
      why: 'Restore it from the snapshot, with no L4 capacity left in us-central1-a: it fails over to the next zone',
      inputs: { zones },
      before: () => {
        sb.faults.add({ kind: 'stockout', zones: ['us-central1-a'], count: 1 });
        console.log(dim('   (injected: the next pool create in us-central1-a fails with GCE_STOCKOUT)'));
      },
    },
    { file: 'cost-cleanup.yml', why: 'The weekly cost clean-up, run as its schedule event (report mode)', event: 'schedule' },
    { file: 'local-stack-deploy.yml', why: 'Deploy the local AI stack on the DGX (its minikube cluster)' },
    { file: 'local-stack-undeploy.yml', why: 'Undeploy it again' },
    { file: 'gpu-quota-release.yml', why: 'Release the quota preference' },
    { file: 'platform-destroy.yml', why: 'Destroy the platform (typed confirmation; terraform stand-in)', inputs: { confirm: sb.project.projectId } },
  ];

  const { onEvent, printResult } = printer({ maxLogLines: 6, maxSummaryLines: 40 });
  const results: { stage: Stage; result: WorkflowRunResult }[] = [];
  try {
    for (const [i, stage] of stages.entries()) {
      console.log(`\n${bold(`━━ ${i + 1}/${stages.length} workflows/${stage.file}`)}${stage.event ? ` (${stage.event})` : ''}\n${dim(stage.why)}`);
      stage.before?.();
      const result = await runWorkflow({
        file: join(ROOT, 'workflows', stage.file),
        event: stage.event,
        inputs: stage.inputs,
        vars,
        secrets,
        env: { ...sb.env, MLABS_RETRY_BASE_MS: '50' },
        machineKubeconfigs,
        onEvent,
      });
      printResult(result);
      console.log(`${result.conclusion === 'success' ? '✓' : '✗'} ${bold(`${stage.file}: ${result.conclusion}`)}`);
      results.push({ stage, result });
      if (stage.file === 'gke-gpu-restore.yml') await showNodes(kube.kubeconfig('mlabs'), scratch);
    }
  } finally {
    await sb.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.result.conclusion !== 'success');
  console.log(`\n${bold('Workflows run:')}`);
  for (const { stage, result } of results) console.log(`  ${result.conclusion === 'success' ? '✓' : '✗'} ${stage.file} (${result.jobs.filter((j) => j.result !== 'skipped').length} job(s) ran)`);
  console.log(`\n${failed.length === 0 ? bold('Lifecycle complete.') : bold(`${failed.length} workflow(s) failed: ${failed.map((f) => f.stage.file).join(', ')}`)} ${dim(`(${Math.round((Date.now() - started) / 1000)} s)`)}`);
  if (failed.length) process.exitCode = 1;
}

/** What the cluster's own API says after the restore: real kubectl against the GKE cluster. */
async function showNodes(kubeconfigText: string, dir: string): Promise<void> {
  const kubeconfig = join(dir, 'mlabs.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigText, { mode: 0o600 });
  const args = ['get', 'nodes', '-L', 'cloud.google.com/gke-nodepool,cloud.google.com/gke-accelerator', '--kubeconfig', kubeconfig];
  console.log(`\n${bold('kubectl get nodes')} ${dim('(after the restore: the GPU node is back, with its accelerator label)')}`);
  try {
    // Asynchronous: the sandbox answering kubectl runs in this same process.
    const text = (await promisify(execFile)('kubectl', args, { encoding: 'utf8' })).stdout.trim();
    console.log(text.split('\n').map((l) => `    ${l}`).join('\n'));
  } catch (err) {
    console.log(`    kubectl failed: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

await main();

// npm run sandbox -- [--port N] [--state FILE] [--operation-ms MS] [--dump-on-exit FILE] [--verbose]
// Starts the sandbox in the foreground and prints `export` lines that point gcloud and the suite at it.
import { writeFileSync } from 'node:fs';
import { startSandbox } from './index.js';
import { kubernetesOf, MACHINES } from './kubernetes/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const port = Number(arg('port') ?? 8765);
const stateFile = arg('state');
const opMs = arg('operation-ms');
const dumpFile = arg('dump-on-exit');

const sb = await startSandbox({
  port,
  ...(stateFile ? { seed: stateFile } : {}),
  ...(opMs ? { operationMs: Number(opMs) } : {}),
  verbose: process.argv.includes('--verbose'),
});

// Kubernetes: the seeded GKE clusters' API servers are up already; start the dgx and agx machines' clusters.
const kube = kubernetesOf(sb);
for (const machine of Object.keys(MACHINES)) await kube.startCluster(machine);

const quote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
const lines = Object.entries(sb.env).map(([k, v]) => `export ${k}=${quote(v)}`);
const state = sb.dump() as {
  container?: { clusters?: { name: string; location: string; nodePools?: { name: string }[] }[] };
  storage?: { buckets?: { name: string }[] };
};
const out = [
  `# mlabs sandbox listening on ${sb.url}`,
  `# token file: ${sb.tokenFile}`,
  `# project: ${sb.project.projectId} (number ${sb.project.projectNumber}), region ${sb.project.region}`,
  ...(state.container?.clusters ?? []).map(
    (c) => `# cluster: ${c.name} (${c.location}), node pools: ${(c.nodePools ?? []).map((p) => p.name).join(', ') || '-'}`,
  ),
  ...(state.storage?.buckets ?? []).map((b) => `# bucket: gs://${b.name}`),
  ...[...kube.clusters.values()].map((h) => `# kubeconfig for ${MACHINES[h.name] ? 'machine' : 'GKE cluster'} ${h.name} (${h.server}): ${h.kubeconfigPath}`),
  '# paste these lines into a shell (and set CLOUDSDK_CONFIG=$(mktemp -d) to keep your own gcloud config apart):',
  ...lines,
  '',
];
process.stdout.write(out.join('\n'));

let stopping = false;
const shutdown = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  if (dumpFile) writeFileSync(dumpFile, `${JSON.stringify(sb.dump(), null, 2)}\n`);
  await sb.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

/**
 * The machine's cluster: minikube installed (pinned, checksum-verified) and running. A running
 * profile is never restarted; a stopped one is started with the docker driver, with every GPU on
 * the DGX (`--gpus all` also enables minikube's NVIDIA device plugin addon).
 */
import { ActionError } from '../errors.js';
import { info } from '../runner.js';
import { runTool } from '../tools/exec.js';
import { ensureTool } from '../tools/install.js';
import { MINIKUBE } from './tools.js';

export interface MinikubeStatus {
  Name?: string;
  Host?: string;
  Kubelet?: string;
  APIServer?: string;
  Kubeconfig?: string;
}

export async function minikubeStatus(profile: string): Promise<MinikubeStatus | undefined> {
  const r = await runTool('minikube', ['status', '-p', profile, '-o', 'json'], { silent: true });
  // minikube exits non-zero when something is stopped and still prints the JSON.
  const text = r.stdout.trim();
  if (!text.startsWith('{')) return undefined;
  try {
    return JSON.parse(text) as MinikubeStatus;
  } catch {
    return undefined;
  }
}

export function isRunning(s: MinikubeStatus | undefined): boolean {
  return s?.Host === 'Running' && s.APIServer === 'Running' && s.Kubelet === 'Running';
}

/** The `minikube start` arguments for a machine profile. */
export function startArgs(profile: string, machine: 'dgx' | 'agx' | 'other'): string[] {
  const args = ['start', '-p', profile, '--driver=docker', '--container-runtime=docker'];
  if (machine === 'dgx') args.push('--gpus', 'all');
  return args;
}

export function machineOf(profile: string): 'dgx' | 'agx' | 'other' {
  return /dgx/i.test(profile) ? 'dgx' : /agx|orin|jetson/i.test(profile) ? 'agx' : 'other';
}

export async function ensureMinikube(profile: string): Promise<'running' | 'started'> {
  await ensureTool(MINIKUBE);
  const status = await minikubeStatus(profile);
  if (isRunning(status)) {
    info(`minikube profile ${profile} is running (left as it is)`);
    return 'running';
  }
  const args = startArgs(profile, machineOf(profile));
  info(`minikube profile ${profile} is ${status?.Host ?? 'absent'}: minikube ${args.join(' ')}`);
  const r = await runTool('minikube', args);
  if (r.exitCode !== 0) {
    throw new ActionError(`minikube start -p ${profile} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' ')}`, {
      fix: 'Check Docker and the NVIDIA container toolkit on the machine (`docker run --rm --gpus all ubuntu nvidia-smi`).',
    });
  }
  return 'started';
}

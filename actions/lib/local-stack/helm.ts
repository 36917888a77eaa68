/**
 * NeMo microservices from their upstream Helm chart, pinned: `helm upgrade --install` is skipped when
 * the release already runs the pinned chart version with the same values. The NGC key reaches helm on
 * stdin only (`repo add --password-stdin`); the values name Secrets, never hold them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError } from '../errors.js';
import { info } from '../runner.js';
import { runTool } from '../tools/exec.js';
import { ensureTool } from '../tools/install.js';
import { HELM_NEMO } from './matrix.js';
import { HELM } from './tools.js';

/** Values for the chart: secrets by reference only. */
export function nemoValues(): Record<string, unknown> {
  return {
    existingSecret: 'ngc-api',
    existingImagePullSecret: 'ngc-registry',
    imagePullSecrets: [{ name: 'ngc-registry' }],
  };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

export function valuesHash(v: unknown): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(JSON.stringify(canonical(v ?? {}))).digest('hex');
}

async function helm(args: string[], opts: { input?: string; log?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  if (opts.log) info(`helm ${args.join(' ')}`);
  const r = await runTool('helm', args, { silent: !opts.log, input: opts.input });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

export interface HelmOutcome {
  action: 'installed' | 'upgraded' | 'unchanged';
}

export async function installNemo(kubeconfig: string, ngcKey: string, tempDir: string, timeoutSec: number): Promise<HelmOutcome> {
  await ensureTool(HELM);
  const ns = 'nemo';
  const kc = ['--kubeconfig', kubeconfig];
  const values = nemoValues();
  const list = await helm(['list', '--namespace', ns, '--filter', `^${HELM_NEMO.release}$`, '--output', 'json', ...kc]);
  const releases = list.code === 0 && list.stdout.trim() ? (JSON.parse(list.stdout) as { name: string; chart: string; status: string }[]) : [];
  const current = releases.find((r) => r.name === HELM_NEMO.release);
  if (current && current.chart === `${HELM_NEMO.chart}-${HELM_NEMO.version}` && current.status === 'deployed') {
    const got = await helm(['get', 'values', HELM_NEMO.release, '--namespace', ns, '--output', 'json', ...kc]);
    if (got.code === 0 && valuesHash(JSON.parse(got.stdout || '{}')) === valuesHash(values)) {
      info(`nemo: helm release ${HELM_NEMO.release} already runs ${current.chart} with the same values: upgrade skipped`);
      return { action: 'unchanged' };
    }
  }
  const repo = await helm(['repo', 'add', HELM_NEMO.repoName, HELM_NEMO.repoUrl, '--username', '$oauthtoken', '--password-stdin', '--force-update'], { input: ngcKey, log: true });
  if (repo.code !== 0) throw new ActionError(`nemo: helm repo add ${HELM_NEMO.repoUrl} failed: ${repo.stderr.trim()}`, { fix: 'Check the NGC API key has access to the NeMo microservices chart.' });
  const file = join(tempDir, 'nemo-values.json');
  writeFileSync(file, JSON.stringify(values, null, 2));
  const args = ['upgrade', '--install', HELM_NEMO.release, `${HELM_NEMO.repoName}/${HELM_NEMO.chart}`, '--version', HELM_NEMO.version, '--namespace', ns, '--values', file, '--wait', '--timeout', `${timeoutSec}s`, ...kc];
  const up = await helm(args, { log: true });
  if (up.code !== 0) throw new ActionError(`nemo: helm upgrade --install failed: ${(up.stderr || up.stdout).trim()}`);
  return { action: current ? 'upgraded' : 'installed' };
}

export async function uninstallNemo(kubeconfig: string, timeoutSec: number): Promise<boolean> {
  await ensureTool(HELM);
  const kc = ['--kubeconfig', kubeconfig];
  const list = await helm(['list', '--namespace', 'nemo', '--filter', `^${HELM_NEMO.release}$`, '--output', 'json', ...kc]);
  const releases = list.code === 0 && list.stdout.trim() ? (JSON.parse(list.stdout) as { name: string }[]) : [];
  if (!releases.some((r) => r.name === HELM_NEMO.release)) return false;
  const r = await helm(['uninstall', HELM_NEMO.release, '--namespace', 'nemo', '--wait', '--timeout', `${timeoutSec}s`, ...kc], { log: true });
  if (r.code !== 0) throw new ActionError(`nemo: helm uninstall failed: ${r.stderr.trim()}`);
  return true;
}

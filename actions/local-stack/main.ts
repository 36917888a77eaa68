import { homedir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { readActionTimeout, readBool, readEnum, readList, readSecret, readString, splitList } from '../lib/inputs.js';
import { COMPONENTS, type Component, componentSpecs, defaultComponents, isOperator, OPERATORS } from '../lib/local-stack/matrix.js';
import { ensureMinikube } from '../lib/local-stack/minikube.js';
import { Kubectl } from '../lib/local-stack/kubectl.js';
import { type ComponentResult, deploy, readNode, Refusal, status, undeploy } from '../lib/local-stack/stack.js';
import { SSH_HOST_PATTERN as HOST, SSH_USER_PATTERN as USER, type SshTarget, sshDestination, tunnelLines } from '../lib/local-stack/results.js';
import { sshHost } from '../lib/config.js';
import { info, setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

const NAME = /^[a-z][a-z0-9-]{0,39}$/;


function report(title: string, results: ComponentResult[], ssh: SshTarget & { given: boolean }, extra: string[] = []): void {
  const all = tunnelLines(results, ssh);
  setOutput('tunnel', all);
  setOutput('status', JSON.stringify(results));
  setOutput('changed', results.some((r) => r.changed.length > 0));
  // The operators serve nothing a user calls: no _url/_tunnel outputs of theirs.
  for (const r of results.filter((x) => !isOperator(x.component))) {
    setOutput(`${r.component}_url`, r.url);
    setOutput(`${r.component}_tunnel`, r.tunnel);
  }
  const summary = new Summary()
    .heading(title)
    .table(['component', 'version', 'image', 'architecture', 'requests', 'status', 'health', 'endpoint'],
      results.map((r) => [r.component, r.version, r.images.join('<br>'), r.architecture, r.requests, r.error ? `${r.status}: ${r.error}` : r.status, r.health, r.url ? `${r.url}<br>\`${r.tunnel}\`` : '']))
    .list(extra);
  if (all) {
    summary.paragraph('Every service from a workstation, one line (each service on its own local port):').code(all, 'sh');
    if (!ssh.given) summary.paragraph(`\`${sshDestination(ssh)}\` stands for the machine: set the inputs ssh_host and ssh_user (the workflows pass the repository variables MLABS_SSH_HOST and MLABS_SSH_USER).`);
  }
  summary.write();
}

/** Every input, read and checked once. */
function readInputs() {
  const operation = readEnum('operation', ['deploy', 'undeploy', 'status'] as const);
  const asked = readList('components', { item: new RegExp(`^(${COMPONENTS.join('|')})$`), accepted: `one of ${COMPONENTS.join(', ')}`, unique: true }) as Component[];
  const runnerName = process.env.RUNNER_NAME ?? '';
  const profile = readString('profile', { pattern: NAME, accepted: 'a minikube profile name (lowercase letters, digits, hyphens)' }) || (/dgx/i.test(runnerName) ? 'dgx' : /agx/i.test(runnerName) ? 'agx' : 'minikube');
  const ollamaModels = readList('ollama_models', { item: /^[a-zA-Z0-9._/-]+(:[a-zA-Z0-9._-]+)?$/, accepted: 'an Ollama model name such as llama3.2:3b' });
  const nimModel = readString('nim_model', { pattern: /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*:[A-Za-z0-9._-]+$/, accepted: 'an image under nvcr.io/nim as org/model:tag' });
  const needsKey = asked.filter((c) => componentSpecs(nimModel)[c].needsNgcKey);
  const ngcKey = readSecret('ngc_api_key', { header: true, required: operation === 'deploy' && needsKey.length > 0, requiredBecause: `for ${needsKey.join(' and ')} (image pulls from nvcr.io and model downloads); nothing was created` });
  const purge = readBool('purge');
  const confirm = splitList(readString('confirm'));
  const timeoutMs = readActionTimeout({ min: 10, max: 6 * 3600 }) * 1000;
  const kubeconfig = readString('kubeconfig') || join(homedir(), '.kube', 'config');
  if (purge && operation !== 'undeploy') throw new InputError('purge', 'true', 'purge applies to operation: undeploy only.');
  // The tunnel lines name the machine as a workstation reaches it, never the runner container's own
  // host name and user.
  const host = readString('ssh_host', { pattern: HOST, accepted: 'the host name or address a workstation reaches the machine by, e.g. dgx.lab.internal' }) || sshHost() || '';
  const user = readString('ssh_user', { pattern: USER, accepted: 'a login name on the machine, e.g. alice' });
  const ssh = { host: host || 'MACHINE', user: host ? user : user || 'USER', given: host !== '' };
  return { operation, asked, profile, ollamaModels, nimModel, ngcKey, purge, confirm, timeoutMs, kubeconfig, ssh };
}

await runAction({
  main: async () => {
    const { operation, asked, profile, ollamaModels, nimModel, ngcKey, purge, confirm, timeoutMs, kubeconfig, ssh } = readInputs();
    const tempDir = join(process.env.RUNNER_TEMP ?? '/tmp', `local-stack-${process.pid}`);
    mkdirSync(tempDir, { recursive: true });

    if (operation === 'undeploy' && purge) {
      const targets = asked.length ? asked : [...COMPONENTS];
      const same = confirm.length === targets.length && targets.every((c) => confirm.includes(c));
      if (!same) {
        const data = targets.map((c) => (isOperator(c) ? `${c}: its CustomResourceDefinitions and with them every ${OPERATORS[c].crds.map((d) => d.split('.')[0]).join('/')} object in the whole cluster` : `${c}: its PersistentVolumeClaims`));
        throw new InputError('confirm', confirm.join(','), `purge deletes the data of ${targets.join(', ')} (${data.join('; ')}); confirm must repeat exactly these component names. Nothing was deleted.`, `Set confirm: ${targets.join(',')}`);
      }
    }

    await ensureMinikube(profile);
    const k = new Kubectl(kubeconfig);
    const components = asked.length ? asked : operation === 'deploy' ? defaultComponents(await readNode(k, [])) : [...COMPONENTS];
    info(`${operation}: ${components.join(', ')} on profile ${profile}`);
    const base = { kubeconfig, components, nimModel, ngcKey, timeoutMs, tempDir, ollamaModels };

    if (operation === 'deploy') {
      let outcome;
      try {
        outcome = await deploy(base);
      } catch (err) {
        if (err instanceof Refusal) new Summary().heading('local-stack: refused').paragraph(err.table).write();
        throw err;
      }
      report(`local-stack deploy on ${outcome.node.name} (${outcome.node.platform})`, outcome.results, ssh);
      const failed = outcome.results.filter((r) => r.status === 'failed' || r.status === 'unhealthy');
      if (failed.length) {
        throw new ActionError(`Deploy failed for ${failed.map((r) => r.component).join(', ')}: ${failed.map((r) => r.error).join(' | ')}`, {
          fix: 'The other components were left as they are; fix the failing one and re-run (re-running changes nothing that is already right).',
        });
      }
    } else if (operation === 'undeploy') {
      const results = await undeploy({ ...base, purge });
      report(`local-stack undeploy${purge ? ' (purge)' : ''}`, results, ssh, purge ? [] : ['PersistentVolumeClaims were kept: a later deploy reattaches them.']);
    } else {
      const outcome = await status(base);
      report(`local-stack status on ${outcome.node.name} (${outcome.node.platform})`, outcome.results, ssh);
    }
  },
});

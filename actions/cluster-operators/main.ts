import { accessFromGke } from '../lib/cleanup/kube.js';
import { runAction } from '../lib/entry.js';
import { InputError } from '../lib/errors.js';
import { readBool, readEnum, readList, readString, splitList } from '../lib/inputs.js';
import { type Operator, OPERATORS } from '../lib/local-stack/matrix.js';
import { deployOperators, type OperatorResult, operatorStatus, undeployOperators } from '../lib/local-stack/operators-gke.js';
import { readCommon } from '../lib/nodepool/inputs.js';
import { setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';

const NAMES = Object.keys(OPERATORS) as Operator[];

/** Every input, read and checked once, before any request. */
function readInputs() {
  const operation = readEnum('operation', ['deploy', 'status', 'undeploy'] as const);
  const asked = readList('operators', { item: new RegExp(`^(${NAMES.join('|')})$`), accepted: `one of ${NAMES.join(', ')}`, unique: true }) as Operator[];
  if (!asked.length) throw new InputError('operators', '', `name at least one of ${NAMES.join(', ')}.`);
  const purge = readBool('purge');
  const confirm = splitList(readString('confirm'));
  if (purge && operation !== 'undeploy') throw new InputError('purge', 'true', 'purge applies to operation: undeploy only.');
  const { ref, deadline } = readCommon({ pool: false });
  // Deploy order: JobSet and KubeRay before Kueue, which integrates them (undeploy goes the other way).
  const operators = NAMES.filter((n) => asked.includes(n));
  if (purge && !(confirm.length === operators.length && operators.every((o) => confirm.includes(o)))) {
    const what = operators.map((o) => `${o}: ${OPERATORS[o].crds.join(', ')}`).join('; ');
    throw new InputError('confirm', confirm.join(','), `purge deletes the CustomResourceDefinitions of ${operators.join(', ')} (${what}) and with them every object of those kinds in the whole cluster; confirm must repeat exactly these operator names. Nothing was deleted.`, `Set confirm: ${operators.join(',')}`);
  }
  return { operation, operators, purge, ref, deadline };
}

function report(title: string, results: OperatorResult[]): void {
  setOutput('status', JSON.stringify(results));
  setOutput('changed', results.some((r) => r.changed.length > 0));
  new Summary()
    .heading(title)
    .table(['operator', 'version', 'image', 'namespace', 'status', 'health', 'changed'], results.map((r) => [r.operator, r.version, r.image, r.namespace, r.status, r.health, r.changed.length ? `${r.changed.length}: ${r.changed.slice(0, 5).join(', ')}${r.changed.length > 5 ? ', …' : ''}` : 'nothing']))
    .write();
}

await runAction({
  async main() {
    const { operation, operators, purge, ref, deadline } = readInputs();
    const kube = await accessFromGke(ref);
    const where = `${ref.project}/${ref.location}/${ref.cluster}`;
    if (operation === 'deploy') report(`Training operators on ${where}`, await deployOperators(kube, operators, deadline));
    else if (operation === 'status') report(`Training operators on ${where}: status`, await operatorStatus(kube, operators));
    else report(`Training operators removed from ${where}${purge ? ' (purge)' : ''}`, await undeployOperators(kube, operators, purge));
  },
});

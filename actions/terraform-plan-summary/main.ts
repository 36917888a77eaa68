import { readFileSync } from 'node:fs';
import { runAction } from '../lib/entry.js';
import { ActionError, describeError } from '../lib/errors.js';
import { readBool, readList, readString } from '../lib/inputs.js';
import { info, setOutput } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';
import { describeCounts, parsePlan, summarizePlan } from '../lib/terraform/plan.js';

/** Every input, read and checked once; the plan file is read here too, so a wrong path fails with the inputs. */
function readInputs() {
  const path = readString('plan_json', { required: true, accepted: 'a path to the output of `terraform show -json PLANFILE`' });
  const allowDestroy = readBool('allow_destroy');
  const protect = readList('protect', { item: /^[A-Za-z0-9_.*\-[\]"]+$/, accepted: 'a resource address, type or name, with * wildcards' });
  const title = readString('title');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ActionError(`Cannot read plan_json ${path}: ${describeError(err)}`, {
      fix: 'Write it first: terraform show -json tfplan > plan.json',
    });
  }
  return { path, text, allowDestroy, protect, title };
}

await runAction({
  main: async () => {
    const { path, text, allowDestroy, protect, title } = readInputs();
    const plan = parsePlan(text, path);
    const s = summarizePlan(plan, protect);

    setOutput('creates', s.counts.creates);
    setOutput('updates', s.counts.updates);
    setOutput('deletes', s.counts.deletes);
    setOutput('replaces', s.counts.replaces);
    setOutput('has_destructive', s.hasDestructive);
    setOutput('protected', s.protectedHits.map((r) => r.address).join(','));

    const summary = new Summary().heading(title).paragraph(`**Plan:** ${describeCounts(s)}.`);
    const changing = s.rows.filter((r) => r.action !== 'no-op');
    if (changing.length === 0) summary.paragraph('No changes: the infrastructure matches the configuration.');
    else
      summary.table(
        ['Resource', 'Type', 'Action', 'Note'],
        changing.map((r) => [r.address, r.type, r.action, r.protectedBy ? `PROTECTED (${r.protectedBy})${r.reason ? `; ${r.reason}` : ''}` : r.reason]),
      );
    const unchanged = s.rows.length - changing.length;
    if (unchanged > 0) summary.paragraph(`${unchanged} resource(s) unchanged.`);
    info(`Plan: ${describeCounts(s)}.`);

    if (plan.errored) {
      summary.paragraph('**Refused:** Terraform reported that this plan errored; it is incomplete.').write();
      throw new ActionError('The plan errored (terraform show -json says "errored": true): it is incomplete and must not be applied.');
    }
    if (s.protectedHits.length) {
      const list = s.protectedHits.map((r) => `${r.address} (${r.action}, protected by "${r.protectedBy}")`);
      summary.paragraph('**Refused:** the plan would delete or replace protected resources:').list(list).write();
      throw new ActionError(`The plan would ${s.protectedHits.length === 1 ? 'delete or replace a protected resource' : 'delete or replace protected resources'}: ${list.join('; ')}.`, {
        fix: 'These are never destroyed by a workflow (allow_destroy does not change that). Change the configuration so they are kept, or remove them by hand as docs/platform.md describes.',
      });
    }
    if (s.hasDestructive && !allowDestroy) {
      const list = s.rows.filter((r) => r.action === 'delete' || r.action === 'replace').map((r) => `${r.address} (${r.action})`);
      summary.paragraph('**Refused:** the plan deletes or replaces resources and `allow_destroy` is not set:').list(list).write();
      throw new ActionError(`The plan would ${describeCounts(s)}; deleting or replacing needs allow_destroy: true. Destructive changes: ${list.join('; ')}.`, {
        fix: 'Review the plan in the job summary; if the deletes are intended, re-run with allow_destroy: true.',
      });
    }
    summary.write();
  },
});

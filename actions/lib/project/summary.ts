import { Summary } from '../summary.js';
import type { Outcome } from './factory.js';
import { renderCondition } from './trust.js';

export function projectSummary(title: string, o: Outcome): Summary {
  const s = new Summary().heading(`${title}: ${o.repository}`).paragraph(`[${o.url}](${o.url})`);
  s.table(['Step', 'Result'], o.steps.map((x) => [x.step, x.result]));
  const t = o.trust;
  if (t) {
    const before = t.conditionBefore ?? (t.before.length ? renderCondition(t.before) : '(no extra repositories)');
    const after = t.conditionAfter ?? (t.after.length ? renderCondition(t.after) : '(no extra repositories)');
    s.heading('Workload Identity', 3).table(
      ['', t.mode === 'iam' ? 'Provider condition' : 'Repositories in terraform/bootstrap/repositories.auto.tfvars.json'],
      [
        ['before', t.mode === 'iam' ? before : t.before.join(', ') || '(none)'],
        ['after', t.mode === 'iam' ? after : t.after.join(', ') || '(none)'],
      ],
    );
    if (t.mode === 'pull-request' && t.url) s.paragraph(`Merge [the pull request](${t.url}) and apply terraform/bootstrap to make it take effect.`);
  }
  return s;
}

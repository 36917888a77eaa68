import { runAction } from '../lib/entry.js';
import { ActionError, InputError } from '../lib/errors.js';
import { readAccelerator, REGION_PATTERN } from '../lib/gpu.js';
import { consoleQuotaUrl, ensureGpuQuota, explainQuotaApiError, releaseGpuQuota, type GpuQuotaOutcome, type QuotaResult } from '../lib/gpu-quota.js';
import { EMAIL_PATTERN, readBool, readDuration, readEnum, readInt, readString } from '../lib/inputs.js';
import { info, setOutput, warning } from '../lib/runner.js';
import { Summary } from '../lib/summary.js';
import { readProjectId } from '../lib/google/project.js';


/** The limit in force after the step: what Google granted when it decided, else the limit read. */
function limitNow(r: QuotaResult): number {
  return r.granted !== undefined && r.state !== 'pending' ? r.granted : r.limit;
}

function report(outcome: GpuQuotaOutcome): QuotaResult[] {
  const results = [outcome.regional, outcome.global];
  setOutput('state', outcome.state);
  for (const r of results) {
    setOutput(`${r.role}_state`, r.state);
    setOutput(`${r.role}_limit`, limitNow(r));
    setOutput(`${r.role}_granted_value`, r.granted ?? '');
    setOutput(`${r.role}_preference`, r.preference?.name ?? '');
  }
  setOutput(
    'quotas',
    JSON.stringify(
      results.map((r) => ({
        role: r.role,
        quota_id: r.ref.quotaId,
        dimensions: r.ref.dimensions,
        metric: r.ref.metric,
        usage: r.usageKnown ? r.usage : null,
        old_limit: r.limit,
        original_limit: r.originalLimit,
        requested: r.requested ?? null,
        granted: r.granted ?? null,
        limit: limitNow(r),
        state: r.state,
        preference: r.preference?.name ?? null,
        detail: r.detail ?? null,
      })),
    ),
  );
  return results;
}

/** Every input, read and checked once. */
function readInputs() {
  const mode = readEnum('mode', ['ensure', 'release'] as const);
  const project = readProjectId();
  const region = readString('region', { required: true, pattern: REGION_PATTERN, accepted: 'a Compute region such as us-central1 or europe-west4' });
  const type = readAccelerator('gpu_family');
  const spot = readBool('spot');
  const count = mode === 'ensure' ? readInt('count', { min: 1, max: 4096 }) : 0;
  const justification = readString('justification');
  const contactEmail = mode === 'ensure' ? readString('contact_email', { required: true, pattern: EMAIL_PATTERN, accepted: 'an email address such as gpu-admins@example.com' }) : '';
  if (mode === 'ensure' && justification.length > 1024) throw new InputError('justification', justification.slice(0, 40) + '...', 'expected at most 1024 characters.');
  const waitSeconds = readDuration('wait', { min: 0, max: 6 * 3600 });
  const pollSeconds = readDuration('poll_interval', { min: 1, max: 600 });
  const failOnPending = readBool('fail_on_pending');
  return { mode, project, region, type, spot, count, justification, contactEmail, waitSeconds, pollSeconds, failOnPending };
}

await runAction({
  main: async () => {
    const { mode, project, region, type, spot, count, justification, contactEmail, waitSeconds, pollSeconds, failOnPending } = readInputs();

    const request = { project, type, region, spot };
    const what = `${spot ? 'Spot ' : ''}${type.displayName} GPUs in ${region}`;
    let outcome: GpuQuotaOutcome;
    try {
      outcome =
        mode === 'ensure'
          ? await ensureGpuQuota({ ...request, count, justification, contactEmail, waitSeconds, pollSeconds })
          : await releaseGpuQuota({ ...request, waitSeconds, pollSeconds });
    } catch (err) {
      throw explainQuotaApiError(err, project);
    }
    const results = report(outcome);
    const consoleUrl = consoleQuotaUrl(project, outcome.regional.state === 'sufficient' ? outcome.global.ref : outcome.regional.ref);
    setOutput('console_url', consoleUrl);

    const summary = new Summary()
      .heading(`GPU quota (${mode}): ${what}`)
      .table(
        ['Quota', 'Region', 'Usage', 'Old limit', 'Requested', 'Granted', 'State'],
        results.map((r) => [
          `${r.ref.quotaId}${r.ref.dimensions.gpu_family ? ` (${r.ref.dimensions.gpu_family})` : ''}`,
          r.ref.region ?? 'all regions',
          r.usageKnown ? r.usage : 'unknown',
          r.limit < 0 ? 'unlimited' : r.limit,
          r.requested,
          r.granted,
          r.state,
        ]),
      );
    const notes = results.filter((r) => r.detail).map((r) => `${r.ref.quotaId}: ${r.detail}`);
    const prefs = results.filter((r) => r.preference).map((r) => `\`${r.preference?.name}\``);
    if (prefs.length) summary.paragraph(`Preferences: ${prefs.join(', ')}`);
    summary.list(notes);

    const state = outcome.state;
    const statusLine: Record<typeof state, string> = {
      sufficient: `The quotas already allow ${count} ${what}; nothing requested.`,
      granted: `Google granted the quota for ${count} ${what}.`,
      pending: `Google has not decided yet (waited ${waitSeconds} s); the request stays open.`,
      partially_granted: `Google granted only part of the quota for ${what}.`,
      denied: `Google denied the quota request for ${what}.`,
      released: `Gave the raised quota for ${what} back.`,
      unchanged: `Nothing to give back for ${what}.`,
    };
    info(statusLine[state]);
    const failing = results.filter((r) => r.state === 'denied' || r.state === 'partially_granted');
    if (failing.length || state === 'pending') summary.paragraph(`${statusLine[state]} Request it by hand: ${consoleUrl}`);
    else summary.paragraph(statusLine[state]);
    summary.write();

    if (failing.length) {
      const reasons = failing.map(
        (r) =>
          `${r.ref.quotaId}${r.ref.region ? ` in ${r.ref.region}` : ''}: asked for ${r.requested}, ${r.state === 'denied' ? 'denied' : `granted ${r.granted}`}` +
          `${r.detail ? ` (Google: "${r.detail}")` : ''}`,
      );
      throw new ActionError(`${statusLine[state]} ${reasons.join('; ')}.`, {
        fix: `Request the quota by hand, with a fuller justification, at ${consoleUrl}`,
      });
    }
    if (state === 'pending') {
      const open = results.filter((r) => r.state === 'pending').map((r) => r.preference?.name ?? r.preferenceId);
      if (failOnPending) {
        throw new ActionError(`${statusLine[state]} Open preferences: ${open.join(', ')}.`, {
          fix: `Re-run later (the step picks up the same preferences), raise wait, or follow the request at ${consoleUrl}`,
        });
      }
      warning(`${statusLine[state]} Open preferences: ${open.join(', ')}. Re-run later to pick up the decision.`);
    }
  },
});

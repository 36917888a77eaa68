/**
 * GPU quota as a workflow step: read both quotas a GPU node pool needs (the regional
 * family quota and the global all-regions cap), ask Cloud Quotas for more when one is
 * short, wait for Google's decision, and later give the raise back.
 *
 * - Limits come from Cloud Quotas (QuotaInfo), usage from Compute (regions.get /
 *   projects.get), whose limit is also compared as a cross-check.
 * - Preference ids are derived from the quota, so a re-run updates the same
 *   preference (or leaves it alone) and never files a duplicate.
 * - The limit the project had before the suite first raised a quota is recorded in the
 *   preference's annotations; `release` never goes below it (nor below current usage).
 */
import { ActionError } from './errors.js';
import { ApiError, isNotFound } from './http.js';
import { permissionError } from './google/iam-denial.js';
import { findQuota, getProjectQuotas, getRegion, type ComputeQuota } from './google/compute.js';
import {
  getQuotaInfo,
  findQuotaPreference,
  limitFor,
  updateQuotaPreference,
  type QuotaPreference,
  type QuotaPreferenceInput,
} from './google/quotas.js';
import { gpuQuotas, type GpuType, type QuotaRef } from './gpu.js';
import { info, warning } from './runner.js';
import { sleep } from './time.js';

/** Annotation keys the suite writes on its preferences. */
export const ANNOTATION_MANAGED_BY = 'mlabs-managed-by';
export const ANNOTATION_ORIGINAL_LIMIT = 'mlabs-original-limit';
export const MANAGED_BY = 'mlabs-actions';

export type QuotaRole = 'regional' | 'global';

/** Outcome per quota (and overall: the worst of the two). */
export type QuotaState = 'sufficient' | 'granted' | 'pending' | 'denied' | 'partially_granted' | 'released' | 'unchanged';

export interface QuotaReading {
  role: QuotaRole;
  ref: QuotaRef;
  /** Effective limit from Cloud Quotas (-1 = unlimited). */
  limit: number;
  /** Usage from Compute; 0 when Compute does not list the metric (see usageKnown). */
  usage: number;
  usageKnown: boolean;
  /** Compute's view of the limit, when it lists the metric. */
  computeLimit?: number;
  /** The deterministic preference id for this quota. */
  preferenceId: string;
  /** The suite's preference, when one exists. */
  preference?: QuotaPreference;
}

export interface QuotaResult extends QuotaReading {
  /** The limit this quota must reach (ensure) or go back to (release). */
  target: number;
  state: QuotaState;
  /** preferredValue of the preference after this run (undefined when none was needed). */
  requested?: number;
  /** What Google granted (the limit now in force when it decided). */
  granted?: number;
  /** The limit recorded before the suite first raised this quota. */
  originalLimit: number;
  /** Whether this run wrote the preference. */
  written: boolean;
  /** Google's stateDetail, when it gave one. */
  detail?: string;
}

export interface GpuQuotaRequest {
  project: string;
  type: GpuType;
  region: string;
  spot: boolean;
}

/**
 * `mlabs-<quota>-<dimensions>`: e.g. `mlabs-nvidia-l4-gpus-us-central1`,
 * `mlabs-gpus-per-gpu-family-nvidia-h100-us-central1`, `mlabs-gpus-all-regions`.
 */
export function preferenceIdFor(ref: QuotaRef): string {
  const quota = ref.quotaId.replace(/-per-project(-region)?$/i, '');
  const dims = [ref.dimensions.gpu_family, ref.dimensions.region].filter((d): d is string => !!d);
  return ['mlabs', quota, ...dims]
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, 63)
    .replace(/-$/, '');
}

/**
 * Turn a Cloud Quotas / Compute refusal into an ActionError a user can act on
 * (other values pass through unchanged).
 */
export function explainQuotaApiError(err: unknown, project: string): unknown {
  if (!(err instanceof ApiError)) return err;
  const api = /cloudquotas/.test(err.url) ? 'Cloud Quotas' : /compute/.test(err.url) ? 'Compute Engine' : 'Google';
  const said = `${api} answered ${err.httpStatus} ${err.status}: ${err.message}`;
  if (err.httpStatus === 403) {
    const denied = permissionError(err);
    if (denied) return denied;
    return new ActionError(said, {
      fix: `Give the job's service account roles/cloudquotas.admin, roles/compute.viewer and roles/serviceusage.serviceUsageConsumer on ${project} (terraform/modules/iam), and enable cloudquotas.googleapis.com and compute.googleapis.com.`,
      cause: err,
    });
  }
  if (err.status === 'ABORTED') {
    return new ActionError(said, { fix: 'The quota preference changed while this step ran (another run or a person); re-run the step.', cause: err });
  }
  if (err.httpStatus === 400 || err.httpStatus === 409 || err.status === 'FAILED_PRECONDITION') {
    return new ActionError(said, { fix: `Check the request in the Cloud Console: ${consoleQuotaUrl(project)}`, cause: err });
  }
  return err;
}

/** The Cloud Console page where a person can file the request by hand. */
export function consoleQuotaUrl(project: string, ref?: QuotaRef): string {
  const u = new URL('https://console.cloud.google.com/iam-admin/quotas');
  u.searchParams.set('project', project);
  u.searchParams.set('usage', 'ALL');
  if (ref) u.searchParams.set('pageState', JSON.stringify({ allQuotasTable: { f: `[{"k":"","t":10,"v":"\\"${ref.quotaId}\\""}]` } }));
  return u.toString();
}

async function readOne(project: string, role: QuotaRole, ref: QuotaRef, computeQuotas: ComputeQuota[]): Promise<QuotaReading> {
  const preferenceId = preferenceIdFor(ref);
  let limit: number | undefined;
  try {
    const quotaInfo = await getQuotaInfo(project, ref.service, ref.quotaId);
    limit = limitFor(quotaInfo, ref.dimensions);
  } catch (err) {
    if (isNotFound(err)) {
      throw new ActionError(`Cloud Quotas has no quota ${ref.quotaId} for ${ref.service} in project ${project}.`, {
        fix: 'Check that the Compute Engine API is enabled in the project, and that the accelerator type is offered there.',
        cause: err,
      });
    }
    throw err;
  }
  const compute = findQuota(computeQuotas, ref.metric);
  if (limit === undefined) {
    if (!compute) throw new ActionError(`No limit for ${ref.quotaId} ${JSON.stringify(ref.dimensions)} in Cloud Quotas or Compute Engine for project ${project}.`);
    limit = compute.limit;
  } else if (compute && compute.limit !== limit) {
    warning(`${ref.metric}${ref.region ? ` in ${ref.region}` : ''}: Cloud Quotas says ${limit}, Compute Engine says ${compute.limit} (a recent change not yet everywhere); using Cloud Quotas.`);
  }
  const preference = await findQuotaPreference(project, preferenceId);
  return {
    role,
    ref,
    limit,
    usage: compute?.usage ?? 0,
    usageKnown: !!compute,
    ...(compute ? { computeLimit: compute.limit } : {}),
    preferenceId,
    ...(preference ? { preference } : {}),
  };
}

/** Read limits, usage and the suite's preferences for both quotas of a GPU request. */
export async function readGpuQuotas(req: GpuQuotaRequest): Promise<{ regional: QuotaReading; global: QuotaReading }> {
  const refs = gpuQuotas(req.type, req.region, req.spot);
  const [region, projectQuotas] = await Promise.all([getRegion(req.project, req.region), getProjectQuotas(req.project)]);
  const regional = await readOne(req.project, 'regional', refs.regional, region.quotas);
  const global = await readOne(req.project, 'global', refs.global, projectQuotas);
  return { regional, global };
}

const unlimited = (n: number): boolean => n < 0;
const allows = (limit: number, target: number): boolean => unlimited(limit) || limit >= target;

/**
 * The limits needed for `count` GPUs of this family in the region: the regional quota
 * must reach `count`; the global cap must hold `count` plus every GPU in use outside
 * this regional quota (global usage minus this quota's usage). With `additional`, `count`
 * GPUs come on top of what is in use now: each quota must reach its usage plus `count`.
 */
export function targetsFor(count: number, regional: QuotaReading, global: QuotaReading, additional = false): { regional: number; global: number } {
  if (additional) return { regional: regional.usage + count, global: global.usage + count };
  const elsewhere = Math.max(0, global.usage - regional.usage);
  return { regional: count, global: count + elsewhere };
}

/** The state of a preference Google has looked at, relative to the limit before the request. */
export function decide(pref: QuotaPreference, limitBefore: number): { state: QuotaState; granted?: number } {
  if (pref.reconciling) return { state: 'pending' };
  const preferred = pref.quotaConfig.preferredValue;
  const granted = pref.quotaConfig.grantedValue;
  if (granted === undefined) return { state: 'pending' };
  if (preferred < 0 ? granted < 0 : granted >= preferred) return { state: 'granted', granted };
  if (granted > limitBefore) return { state: 'partially_granted', granted };
  return { state: 'denied', granted };
}

const SEVERITY: QuotaState[] = ['sufficient', 'unchanged', 'granted', 'released', 'pending', 'partially_granted', 'denied'];

/** The overall state: the worst of the quotas' states. */
export function overallState(results: QuotaResult[]): QuotaState {
  return results.reduce<QuotaState>((worst, r) => (SEVERITY.indexOf(r.state) > SEVERITY.indexOf(worst) ? r.state : worst), 'sufficient');
}


export interface WaitOptions {
  /** Seconds to wait for Google's decision; 0 = check once and return. */
  waitSeconds: number;
  /** Seconds between polls. */
  pollSeconds: number;
}

/** Poll the preferences of `pending` results until each is decided or the wait runs out. */
async function waitForDecisions(project: string, results: QuotaResult[], opts: WaitOptions, release: boolean): Promise<void> {
  const deadline = Date.now() + opts.waitSeconds * 1000;
  for (;;) {
    const open = results.filter((r) => r.state === 'pending');
    if (open.length === 0) return;
    if (Date.now() >= deadline) return;
    await sleep(Math.min(opts.pollSeconds * 1000, Math.max(0, deadline - Date.now())));
    for (const r of open) {
      const pref = await findQuotaPreference(project, r.preferenceId);
      if (!pref) throw new ActionError(`Quota preference ${r.preferenceId} disappeared while waiting for Google's decision.`);
      applyDecision(r, pref, release);
    }
    const left = results.filter((r) => r.state === 'pending');
    if (left.length) info(`Waiting for Google's decision on ${left.map((r) => r.ref.quotaId).join(', ')} (${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left)`);
  }
}

function applyDecision(r: QuotaResult, pref: QuotaPreference, release: boolean): void {
  r.preference = pref;
  r.detail = pref.quotaConfig.stateDetail || r.detail;
  const d = decide(pref, r.originalLimit);
  if (d.granted !== undefined) r.granted = d.granted;
  if (!release) {
    r.state = d.state;
    return;
  }
  if (d.state === 'pending') r.state = 'pending';
  else if (d.granted !== undefined && d.granted <= r.target) r.state = 'released';
  else r.state = 'denied';
}

export interface EnsureOptions extends GpuQuotaRequest, WaitOptions {
  /** The limit wanted for the regional family quota (with `additional`: GPUs needed on top of current usage). */
  count: number;
  /** `count` is what a new or growing node pool adds to what runs now (node-pool-expand). */
  additional?: boolean;
  justification: string;
  contactEmail: string;
}

export interface GpuQuotaOutcome {
  state: QuotaState;
  regional: QuotaResult;
  global: QuotaResult;
}

function preferenceInput(r: QuotaReading, preferredValue: number, originalLimit: number, extra: { justification?: string; contactEmail?: string }): QuotaPreferenceInput {
  return {
    service: r.ref.service,
    quotaId: r.ref.quotaId,
    dimensions: r.ref.dimensions,
    preferredValue,
    annotations: {
      ...(r.preference?.quotaConfig.annotations ?? {}),
      [ANNOTATION_MANAGED_BY]: MANAGED_BY,
      [ANNOTATION_ORIGINAL_LIMIT]: String(originalLimit),
    },
    ...extra,
    ...(r.preference?.etag ? { etag: r.preference.etag } : {}),
  };
}

/** The limit recorded before the suite first raised this quota, if the preference carries one. */
export function recordedOriginal(pref: QuotaPreference | undefined): number | undefined {
  const raw = pref?.quotaConfig.annotations[ANNOTATION_ORIGINAL_LIMIT];
  if (raw === undefined || !/^-?\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * Make sure `count` GPUs of the type fit in the region: do nothing when both quotas allow
 * it; otherwise file (or update) a preference for each short quota and wait for Google.
 */
export async function ensureGpuQuota(opts: EnsureOptions): Promise<GpuQuotaOutcome> {
  const { regional, global } = await readGpuQuotas(opts);
  const targets = targetsFor(opts.count, regional, global, opts.additional);
  const results: QuotaResult[] = [];
  for (const [reading, target] of [
    [regional, targets.regional],
    [global, targets.global],
  ] as const) {
    const originalLimit = recordedOriginal(reading.preference) ?? reading.limit;
    const r: QuotaResult = { ...reading, target, originalLimit, state: 'sufficient', written: false };
    results.push(r);
    if (allows(reading.limit, target)) continue;
    const existing = reading.preference;
    const same =
      existing !== undefined &&
      existing.quotaConfig.preferredValue === target &&
      (existing.justification ?? '') === opts.justification &&
      recordedOriginal(existing) !== undefined;
    let pref: QuotaPreference;
    if (same) {
      info(`${reading.ref.quotaId}: preference ${reading.preferenceId} already asks for ${target}; not filing again.`);
      pref = existing;
    } else {
      info(`${reading.ref.quotaId}${reading.ref.region ? ` in ${reading.ref.region}` : ''}: limit ${reading.limit}, need ${target}; ${existing ? 'updating' : 'filing'} preference ${reading.preferenceId}.`);
      pref = await updateQuotaPreference(
        opts.project,
        reading.preferenceId,
        preferenceInput(reading, target, originalLimit, { justification: opts.justification, contactEmail: opts.contactEmail }),
        { allowMissing: true },
      );
      r.written = true;
    }
    r.requested = pref.quotaConfig.preferredValue;
    applyDecision(r, pref, false);
  }
  await waitForDecisions(opts.project, results, opts, false);
  const [reg, glob] = results as [QuotaResult, QuotaResult];
  return { state: overallState(results), regional: reg, global: glob };
}

export type ReleaseOptions = GpuQuotaRequest & WaitOptions;

/**
 * Give back what the suite raised: set each of the suite's preferences back to the limit
 * recorded before the first raise, never below current usage. Quotas the suite never
 * raised are left alone.
 */
export async function releaseGpuQuota(opts: ReleaseOptions): Promise<GpuQuotaOutcome> {
  const { regional, global } = await readGpuQuotas(opts);
  const results: QuotaResult[] = [];
  for (const reading of [regional, global]) {
    const original = recordedOriginal(reading.preference);
    const target = original === undefined ? reading.limit : Math.max(original, reading.usage);
    const r: QuotaResult = { ...reading, target, originalLimit: original ?? reading.limit, state: 'unchanged', written: false };
    results.push(r);
    if (original === undefined) {
      info(`${reading.ref.quotaId}: the suite never raised this quota (no preference ${reading.preferenceId} with a recorded limit); leaving it at ${reading.limit}.`);
      continue;
    }
    if (reading.usage > original) {
      warning(`${reading.ref.quotaId}: ${reading.usage} in use, above the original limit ${original}; releasing only down to ${reading.usage}.`);
    }
    if (!unlimited(reading.limit) && reading.limit <= target && reading.preference?.quotaConfig.preferredValue === target) {
      info(`${reading.ref.quotaId}: already back at ${reading.limit}.`);
      continue;
    }
    info(`${reading.ref.quotaId}${reading.ref.region ? ` in ${reading.ref.region}` : ''}: limit ${reading.limit}, giving back down to ${target}.`);
    const pref = await updateQuotaPreference(opts.project, reading.preferenceId, preferenceInput(reading, target, original, {}), { allowMissing: false });
    r.written = true;
    r.requested = pref.quotaConfig.preferredValue;
    applyDecision(r, pref, true);
  }
  await waitForDecisions(opts.project, results, opts, true);
  const [reg, glob] = results as [QuotaResult, QuotaResult];
  return { state: overallState(results), regional: reg, global: glob };
}

/**
 * Cloud Quotas v1 (cloudquotas.googleapis.com): read a quota's limits (QuotaInfo)
 * and ask Google to change them (QuotaPreference).
 *
 * - A QuotaInfo carries no usage; usage comes from Compute (see compute.ts).
 * - A QuotaPreference is addressed by an id we choose, so a re-run finds and
 *   updates the same preference instead of filing a duplicate.
 * - `quotaConfig.preferredValue` / `grantedValue` are int64 and travel as strings.
 */
import { apiUrl } from '../endpoints.js';
import { findOrUndefined, listAll, request, requestJson } from '../http.js';
import { getAccessToken } from './auth.js';

export interface QuotaInfo {
  name: string;
  quotaId: string;
  metric: string;
  service: string;
  /** Dimension keys, e.g. ['region'] or ['region', 'gpu_family']; [] for project-level quotas. */
  dimensions: string[];
  isFixed: boolean;
  quotaIncreaseEligibility?: { isEligible?: boolean; ineligibilityReason?: string };
  dimensionsInfos: DimensionsInfo[];
}

export interface DimensionsInfo {
  /** The dimension values this limit applies to; `{}` is the default for every other combination. */
  dimensions: Record<string, string>;
  /** The limit (-1 = unlimited). */
  value: number;
  applicableLocations: string[];
}

export interface QuotaPreference {
  /** `projects/P/locations/global/quotaPreferences/ID`. */
  name: string;
  service: string;
  quotaId: string;
  dimensions: Record<string, string>;
  quotaConfig: {
    preferredValue: number;
    /** Output: what Google granted so far; undefined until it decides. */
    grantedValue?: number;
    stateDetail?: string;
    traceId?: string;
    annotations: Record<string, string>;
    requestOrigin?: string;
  };
  etag?: string;
  /** Output: true while Google is still deciding. */
  reconciling: boolean;
  justification?: string;
  createTime?: string;
  updateTime?: string;
}

/** What is written: the preference's settable fields. */
export interface QuotaPreferenceInput {
  service: string;
  quotaId: string;
  dimensions: Record<string, string>;
  preferredValue: number;
  annotations?: Record<string, string>;
  justification?: string;
  /** Required by Google for increases. */
  contactEmail?: string;
  /** For updates: fail with ABORTED if the preference changed since it was read. */
  etag?: string;
}

interface RawPreference {
  name?: string;
  service?: string;
  quotaId?: string;
  dimensions?: Record<string, string>;
  quotaConfig?: {
    preferredValue?: string | number;
    grantedValue?: string | number | { value?: string | number } | null;
    stateDetail?: string;
    traceId?: string;
    annotations?: Record<string, string>;
    requestOrigin?: string;
  };
  etag?: string;
  reconciling?: boolean;
  justification?: string;
  createTime?: string;
  updateTime?: string;
}

function int64(v: string | number | { value?: string | number } | null | undefined): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'object') return int64(v.value);
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function toPreference(raw: RawPreference): QuotaPreference {
  const c = raw.quotaConfig ?? {};
  return {
    name: raw.name ?? '',
    service: raw.service ?? '',
    quotaId: raw.quotaId ?? '',
    dimensions: raw.dimensions ?? {},
    quotaConfig: {
      preferredValue: int64(c.preferredValue) ?? 0,
      grantedValue: int64(c.grantedValue),
      stateDetail: c.stateDetail,
      traceId: c.traceId,
      annotations: c.annotations ?? {},
      requestOrigin: c.requestOrigin,
    },
    etag: raw.etag,
    reconciling: raw.reconciling === true,
    justification: raw.justification,
    createTime: raw.createTime,
    updateTime: raw.updateTime,
  };
}

function body(p: QuotaPreferenceInput, name?: string): Record<string, unknown> {
  return {
    ...(name ? { name } : {}),
    service: p.service,
    quotaId: p.quotaId,
    dimensions: p.dimensions,
    quotaConfig: { preferredValue: String(p.preferredValue), ...(p.annotations ? { annotations: p.annotations } : {}) },
    ...(p.justification ? { justification: p.justification } : {}),
    ...(p.contactEmail ? { contactEmail: p.contactEmail } : {}),
    ...(p.etag ? { etag: p.etag } : {}),
  };
}

const globalParent = (project: string): string => `projects/${project}/locations/global`;

/** The full name of preference `id` in `project`. */
export function preferenceName(project: string, id: string): string {
  return `${globalParent(project)}/quotaPreferences/${id}`;
}

function toInfo(raw: Record<string, unknown>): QuotaInfo {
  const infos = (raw.dimensionsInfos as Array<{ dimensions?: Record<string, string>; details?: { value?: string | number }; applicableLocations?: string[] }> | undefined) ?? [];
  return {
    name: String(raw.name ?? ''),
    quotaId: String(raw.quotaId ?? ''),
    metric: String(raw.metric ?? ''),
    service: String(raw.service ?? ''),
    dimensions: (raw.dimensions as string[] | undefined) ?? [],
    isFixed: raw.isFixed === true,
    quotaIncreaseEligibility: raw.quotaIncreaseEligibility as QuotaInfo['quotaIncreaseEligibility'],
    dimensionsInfos: infos.map((d) => ({
      dimensions: d.dimensions ?? {},
      value: int64(d.details?.value) ?? 0,
      applicableLocations: d.applicableLocations ?? [],
    })),
  };
}

/** quotaInfos.get: `projects/P/locations/global/services/S/quotaInfos/ID`. */
export async function getQuotaInfo(project: string, service: string, quotaId: string): Promise<QuotaInfo> {
  const token = await getAccessToken();
  const raw = await requestJson<Record<string, unknown>>(
    apiUrl('cloudquotas', `v1/${globalParent(project)}/services/${encodeURIComponent(service)}/quotaInfos/${encodeURIComponent(quotaId)}`),
    { token },
  );
  return toInfo(raw);
}

/** quotaInfos.list for one service, every page. */
export async function listQuotaInfos(project: string, service: string): Promise<QuotaInfo[]> {
  const token = await getAccessToken();
  const raw = await listAll<Record<string, unknown>>(apiUrl('cloudquotas', `v1/${globalParent(project)}/services/${encodeURIComponent(service)}/quotaInfos`), 'quotaInfos', {
    token,
  });
  return raw.map(toInfo);
}

/**
 * The limit that applies to `dimensions`: the dimensionsInfo whose every dimension matches
 * (the most specific one wins), else the `{}` default. undefined when nothing applies.
 */
export function limitFor(info: QuotaInfo, dimensions: Record<string, string>): number | undefined {
  const candidates = info.dimensionsInfos.filter((d) => Object.entries(d.dimensions).every(([k, v]) => dimensions[k] === v));
  candidates.sort((a, b) => Object.keys(b.dimensions).length - Object.keys(a.dimensions).length);
  return candidates[0]?.value;
}

/** quotaPreferences.get, or undefined when there is none under that id. */
export async function findQuotaPreference(project: string, id: string): Promise<QuotaPreference | undefined> {
  const token = await getAccessToken();
  const raw = await findOrUndefined(() => requestJson<RawPreference>(apiUrl('cloudquotas', `v1/${preferenceName(project, id)}`), { token }));
  return raw && toPreference(raw);
}

/** quotaPreferences.create with our own id (ALREADY_EXISTS if taken). */
export async function createQuotaPreference(project: string, id: string, p: QuotaPreferenceInput): Promise<QuotaPreference> {
  const token = await getAccessToken();
  const raw = await requestJson<RawPreference>(apiUrl('cloudquotas', `v1/${globalParent(project)}/quotaPreferences`), {
    method: 'POST',
    token,
    query: { quotaPreferenceId: id },
    body: body(p),
    // A retried create that meets ALREADY_EXISTS landed the first time: read it back.
    adoptOnConflict: () => request(apiUrl('cloudquotas', `v1/${preferenceName(project, id)}`), { token }),
  });
  return toPreference(raw);
}

/**
 * quotaPreferences.patch. With `allowMissing` it creates the preference when absent, so
 * one call covers both first run and re-run. Sends the etag when given (ABORTED on a race).
 */
export async function updateQuotaPreference(project: string, id: string, p: QuotaPreferenceInput, opts: { allowMissing?: boolean; validateOnly?: boolean } = {}): Promise<QuotaPreference> {
  const token = await getAccessToken();
  const name = preferenceName(project, id);
  const fields = ['quotaConfig.preferredValue', ...(p.annotations ? ['quotaConfig.annotations'] : []), ...(p.justification ? ['justification'] : []), ...(p.contactEmail ? ['contactEmail'] : [])];
  const raw = await requestJson<RawPreference>(apiUrl('cloudquotas', `v1/${name}`), {
    method: 'PATCH',
    token,
    query: {
      updateMask: fields.join(','),
      allowMissing: opts.allowMissing ? true : undefined,
      validateOnly: opts.validateOnly ? true : undefined,
    },
    body: body(p, name),
    idempotent: true, // it sets the preference to these values: sending it twice gives the same preference
  });
  return toPreference(raw);
}

// Cloud Quotas cloudquotas.googleapis.com v1 and v1beta: quotaInfos list/get, quotaPreferences
// create/get/patch/list with a grant model. QuotaInfos are the quota ledger's entries, so they
// always agree with Compute's regions.get and GKE's quota checks.
// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDQUOTAS=http://127.0.0.1:PORT/cloudquotas/
import { createHash, randomBytes } from 'node:crypto';
import type { ApiModule, SandboxContext } from '../context.js';
import type { QuotaEntry } from '../quota.js';

type Json = Record<string, unknown>;

export interface CloudQuotasState {
  /** QuotaPreference objects as the API shows them (plus `_review` bookkeeping while reconciling). */
  preferences: Json[];
}

const SERVICE = 'compute.googleapis.com';

function dimsOf(e: QuotaEntry): Record<string, string> {
  return { ...(e.region ? { region: e.region } : {}), ...(e.gpuFamily ? { gpu_family: e.gpuFamily } : {}) };
}

const cloudQuotasModule: ApiModule = {
  id: 'cloudquotas',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const st = ctx.state.section<CloudQuotasState>('cloudquotas', () => ({ preferences: [] }));
    st.preferences ??= [];
    let etagCounter = 0;
    const newEtag = (p: Json): string =>
      `"${createHash('sha256').update(`${JSON.stringify(p)}#${++etagCounter}`).digest('base64url').slice(0, 20)}"`;

    const parentOf = (s: string): { project: string } => {
      const m = /^projects\/([^/]+)\/locations\/global(?:\/|$)/.exec(s);
      if (!m) throw errors.invalidArgument(`Invalid resource name: ${s}. Only the location "global" is supported.`);
      const p = m[1] as string;
      if (p !== ctx.project.projectId && p !== ctx.project.projectNumber) {
        throw errors.permissionDenied(`Permission denied on resource project ${p}.`, [
          errors.errorInfo('CONSUMER_INVALID', 'googleapis.com', { consumer: `projects/${p}`, service: 'cloudquotas.googleapis.com' }),
        ]);
      }
      return { project: p };
    };

    // ---- quota infos from the ledger ----
    function quotaInfos(parent: string, service: string): Json[] {
      const byId = new Map<string, QuotaEntry[]>();
      for (const e of ctx.quota.entries()) {
        if ((e.service ?? SERVICE) !== service) continue;
        byId.set(e.quotaId, [...(byId.get(e.quotaId) ?? []), e]);
      }
      return [...byId.entries()].map(([quotaId, entries]) => {
        const first = entries[0] as QuotaEntry;
        const dims = Object.keys(dimsOf(first));
        const metric = first.gpuFamily ? 'gpus_per_gpu_family' : first.metric.toLowerCase();
        return {
          name: `${parent}/quotaInfos/${quotaId}`,
          quotaId,
          metric: `${service}/${metric}`,
          service,
          isPrecise: true,
          containerType: 'PROJECT',
          dimensions: dims,
          metricDisplayName: first.metric.replace(/_/g, ' ').toLowerCase().replace(/(^|\s)\S/g, (c) => c.toUpperCase()),
          quotaDisplayName: quotaId.replace(/-/g, ' '),
          metricUnit: '1',
          quotaIncreaseEligibility: { isEligible: true },
          isFixed: false,
          isConcurrent: false,
          dimensionsInfos: entries.map((e) => ({
            dimensions: dimsOf(e),
            details: { value: e.limit },
            applicableLocations: [e.region ?? 'global'],
          })),
        };
      });
    }

    // ---- the grant model ----
    function entryFor(p: Json): QuotaEntry {
      const service = String(p.service);
      const quotaId = String(p.quotaId);
      const entries = ctx.quota.byQuotaId(service, quotaId);
      if (entries.length === 0) {
        throw errors.invalidArgument(`Quota "${quotaId}" of service "${service}" does not exist.`, [errors.badRequest('quota_preference.quota_id', 'Unknown quota id')]);
      }
      const dims = (p.dimensions as Record<string, string> | undefined) ?? {};
      const e = entries.find((x) => JSON.stringify(Object.entries(dimsOf(x)).sort()) === JSON.stringify(Object.entries(dims).sort()));
      if (!e) {
        throw errors.invalidArgument(
          `Dimensions ${JSON.stringify(dims)} are not valid for quota "${quotaId}": expected ${JSON.stringify(Object.keys(dimsOf(entries[0] as QuotaEntry)))}.`,
          [errors.badRequest('quota_preference.dimensions', 'Invalid dimensions')],
        );
      }
      return e;
    }

    function applyPreference(p: Json, e: QuotaEntry, req: Json, isNew: boolean): void {
      const cfg = p.quotaConfig as Json;
      const preferred = Number(cfg.preferredValue);
      if (!Number.isFinite(preferred) || preferred < -1) throw errors.invalidArgument(`Invalid preferred value: ${String(cfg.preferredValue)}.`);
      const current = e.limit;
      const usage = ctx.quota.usage(e);
      const checks = (req.ignoreSafetyChecks as string[] | undefined) ?? [];
      if (preferred !== -1 && preferred < usage && !checks.includes('QUOTA_DECREASE_BELOW_USAGE')) {
        throw errors.failedPrecondition(
          `The preferred value ${preferred} is below the current usage ${usage}. Set ignore_safety_checks QUOTA_DECREASE_BELOW_USAGE to proceed.`,
          [errors.errorInfo('QUOTA_DECREASE_BELOW_USAGE', 'cloudquotas.googleapis.com')],
        );
      }
      const increase = preferred === -1 || preferred > current;
      if (increase && !p.contactEmail && !req.validateOnly) {
        throw errors.invalidArgument('contact_email is required for a quota increase request.', [
          errors.badRequest('quota_preference.contact_email', 'Required for quota increase requests.'),
        ]);
      }
      if (req.validateOnly) return;
      const now = new Date().toISOString();
      p.createTime ??= now;
      p.updateTime = now;
      cfg.traceId = randomBytes(8).toString('hex');
      cfg.requestOrigin = 'ORIGIN_UNSPECIFIED';
      delete p._review;
      const ceiling = ctx.quota.autoGrantCeiling(e);
      if (!increase || preferred <= ceiling) {
        cfg.grantedValue = preferred;
        cfg.stateDetail = `Quota request approved to ${preferred}`;
        p.reconciling = false;
        ctx.quota.setLimit(e, preferred);
      } else {
        const review = ctx.quota.review(e);
        cfg.grantedValue = current;
        cfg.stateDetail = 'Quota request is being reviewed.';
        p.reconciling = true;
        p._review = { decideAt: Date.now() + review.delayMs };
        schedule(p, review.delayMs);
      }
      delete p.contactEmail;
      p.etag = newEtag(p);
      void isNew;
    }

    function schedule(p: Json, delayMs: number): void {
      const name = p.name;
      ctx.operations.after(delayMs, () => {
        const live = st.preferences.find((x) => x.name === name);
        if (live !== p || !p.reconciling) return;
        const e = entryFor(p);
        const review = ctx.quota.review(e);
        const cfg = p.quotaConfig as Json;
        const preferred = Number(cfg.preferredValue);
        if (review.decision === 'grant') {
          cfg.grantedValue = preferred;
          cfg.stateDetail = `Quota request approved to ${preferred}`;
          ctx.quota.setLimit(e, preferred);
        } else if (review.decision === 'partial') {
          const g = Math.min(preferred, Math.max(e.limit, review.partialValue ?? ctx.quota.autoGrantCeiling(e)));
          cfg.grantedValue = g;
          cfg.stateDetail = `We cannot grant the preferred quota '${preferred}' for quota ${p.quotaId} at this moment. '${g}' was granted.`;
          ctx.quota.setLimit(e, g);
        } else {
          cfg.grantedValue = e.limit;
          cfg.stateDetail = 'Quota request denied';
        }
        p.reconciling = false;
        p.updateTime = new Date().toISOString();
        delete p._review;
        p.etag = newEtag(p);
      });
    }
    // Preferences left reconciling in a seed are decided after their review delay.
    for (const p of st.preferences) {
      if (p.reconciling) {
        const at = Number((p._review as Json | undefined)?.decideAt ?? 0);
        queueMicrotask(() => schedule(p, Math.max(0, Math.min(at - Date.now(), ctx.quota.review(entryFor(p)).delayMs))));
      }
    }

    const getPref = (name: string): Json => {
      const p = st.preferences.find((x) => x.name === name);
      if (!p) throw errors.notFound(`QuotaPreference ${name} not found.`);
      return p;
    };
    const canonName = (name: string): string => name.replace(/^projects\/[^/]+\//, `projects/${name.split('/')[1] === ctx.project.projectNumber ? ctx.project.projectNumber : ctx.project.projectId}/`);
    const out = (p: Json): Json => {
      const { contactEmail: _c, _review: _r, ...rest } = p;
      return rest;
    };

    const handlers = {
      ListQuotaInfos(req: Json) {
        const parent = String(req.parent);
        parentOf(parent);
        const service = parent.split('/services/')[1] ?? SERVICE;
        const all = quotaInfos(parent, service);
        const size = Number(req.pageSize ?? 0) || 1000;
        const start = Number(req.pageToken ?? 0) || 0;
        const page = all.slice(start, start + size);
        return { quotaInfos: page, ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}) };
      },
      GetQuotaInfo(req: Json) {
        const name = String(req.name);
        parentOf(name);
        const [parent, id] = name.split('/quotaInfos/') as [string, string];
        const service = parent.split('/services/')[1] ?? SERVICE;
        const info = quotaInfos(parent, service).find((q) => q.quotaId === id);
        if (!info) throw errors.notFound(`QuotaInfo ${name} not found.`);
        return info;
      },
      ListQuotaPreferences(req: Json) {
        const parent = String(req.parent);
        parentOf(parent);
        let all = st.preferences.slice(); // one project per sandbox
        const filter = String(req.filter ?? '');
        for (const m of filter.matchAll(/(\w+)\s*=\s*"?([^"\s]+)"?/g)) {
          const [, k, v] = m as unknown as [string, string, string];
          if (k === 'reconciling') all = all.filter((p) => String(!!p.reconciling) === v);
          else if (k === 'service' || k === 'quotaId' || k === 'quota_id') all = all.filter((p) => p[k === 'quota_id' ? 'quotaId' : k] === v);
        }
        const size = Number(req.pageSize ?? 0) || 1000;
        const start = Number(req.pageToken ?? 0) || 0;
        return {
          quotaPreferences: all.slice(start, start + size).map(out),
          ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
        };
      },
      GetQuotaPreference(req: Json) {
        parentOf(String(req.name));
        return out(getPref(canonName(String(req.name))));
      },
      CreateQuotaPreference(req: Json) {
        const parent = canonName(String(req.parent));
        parentOf(parent);
        const input = req.quotaPreference as Json;
        const id = String(req.quotaPreferenceId ?? '') || `${String(input.quotaId ?? 'pref').toLowerCase()}-${randomBytes(4).toString('hex')}`;
        const name = `${parent}/quotaPreferences/${id}`;
        if (st.preferences.some((p) => p.name === name)) throw errors.alreadyExists(`QuotaPreference ${name} already exists.`);
        const p: Json = { ...input, name, quotaConfig: { ...(input.quotaConfig as Json) } };
        const e = entryFor(p);
        applyPreference(p, e, req, true);
        if (!req.validateOnly) st.preferences.push(p);
        return out(p);
      },
      UpdateQuotaPreference(req: Json) {
        const input = req.quotaPreference as Json;
        const name = canonName(String(input.name));
        parentOf(name);
        const existing = st.preferences.find((p) => p.name === name);
        if (!existing) {
          if (!req.allowMissing) throw errors.notFound(`QuotaPreference ${name} not found.`);
          const p: Json = { ...input, name, quotaConfig: { ...(input.quotaConfig as Json) } };
          applyPreference(p, entryFor(p), req, true);
          if (!req.validateOnly) st.preferences.push(p);
          return out(p);
        }
        if (input.etag !== undefined && input.etag !== '' && input.etag !== existing.etag) {
          throw errors.aborted(`The etag ${String(input.etag)} does not match the current etag ${String(existing.etag)} of ${name}.`);
        }
        if (input.dimensions !== undefined && JSON.stringify(input.dimensions) !== JSON.stringify(existing.dimensions ?? {})) {
          throw errors.invalidArgument('Field quota_preference.dimensions is immutable.', [errors.badRequest('quota_preference.dimensions', 'Immutable field')]);
        }
        const mask = String(req.updateMask ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const next: Json = structuredClone(existing);
        const fields = mask.length > 0 ? mask : ['quota_config', 'justification', 'contact_email'];
        for (const f of fields) {
          const key = f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
          if (key === 'quotaConfig' || key.startsWith('quotaConfig.')) {
            next.quotaConfig = { ...(next.quotaConfig as Json), ...((input.quotaConfig as Json | undefined) ?? {}) };
          } else if (input[key] !== undefined) {
            next[key] = input[key];
          }
        }
        if (input.contactEmail) next.contactEmail = input.contactEmail;
        applyPreference(next, entryFor(next), req, false);
        if (!req.validateOnly) st.preferences[st.preferences.indexOf(existing)] = next;
        return out(next);
      },
    };

    for (const ver of ['v1', 'v1beta']) {
      ctx.contracts.bind({ api: 'cloudquotas', pkg: 'cloudquotas', service: `google.api.cloudquotas.${ver}.CloudQuotas`, prefix: '/cloudquotas', handlers });
    }
  },
};

export default cloudQuotasModule;

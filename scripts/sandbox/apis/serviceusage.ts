// Service Usage v1 (serviceusage.googleapis.com), what `gcloud services list [--enabled|--available]`
// and `gcloud services describe` read:
//   GET /serviceusage/v1/projects/P/services?filter=state:ENABLED   (pageSize, pageToken)
//   GET /serviceusage/v1/projects/P/services/SERVICE
// CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE=http://127.0.0.1:PORT/serviceusage/
// No npm client here ships Service Usage's protos; modelled by hand after its REST reference
// (google.api.serviceusage.v1.Service: name, parent, config{name,title}, state ENABLED|DISABLED).
// Seed key `serviceusage`: { enabled: [service names] }. The default is what terraform/bootstrap
// enables (google_project_service "bootstrap") plus Service Usage itself, which is always on.
import type { ApiModule, SandboxContext } from '../context.js';

export interface ServiceUsageSeed {
  enabled: string[];
}

const TITLES: Record<string, string> = {
  'artifactregistry.googleapis.com': 'Artifact Registry API',
  'cloudbilling.googleapis.com': 'Cloud Billing API',
  'cloudquotas.googleapis.com': 'Cloud Quotas API',
  'cloudresourcemanager.googleapis.com': 'Cloud Resource Manager API',
  'compute.googleapis.com': 'Compute Engine API',
  'container.googleapis.com': 'Kubernetes Engine API',
  'iam.googleapis.com': 'Identity and Access Management (IAM) API',
  'iamcredentials.googleapis.com': 'IAM Service Account Credentials API',
  'serviceusage.googleapis.com': 'Service Usage API',
  'storage.googleapis.com': 'Cloud Storage API',
  'sts.googleapis.com': 'Security Token Service API',
  'logging.googleapis.com': 'Cloud Logging API',
  'monitoring.googleapis.com': 'Cloud Monitoring API',
};

export const DEFAULT_ENABLED = [
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'sts.googleapis.com',
  'storage.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'container.googleapis.com',
  'artifactregistry.googleapis.com',
  'compute.googleapis.com',
  'cloudquotas.googleapis.com',
  'cloudbilling.googleapis.com',
  'serviceusage.googleapis.com',
];

const serviceusage: ApiModule = {
  id: 'serviceusage',
  register(ctx: SandboxContext) {
    const { errors } = ctx;
    const { projectId, projectNumber } = ctx.project;
    const st = ctx.state.section<ServiceUsageSeed>('serviceusage', () => ({ enabled: [...DEFAULT_ENABLED] }));
    st.enabled ??= [];

    const checkProject = (p: string | undefined): void => {
      if (p !== projectId && p !== projectNumber) {
        throw errors.permissionDenied(`Permission denied to list services for consumer container [projects/${String(p)}]`, [
          errors.errorInfo('AUTH_PERMISSION_DENIED', 'serviceusage.googleapis.com', { permission: 'serviceusage.services.list', resource: `projects/${String(p)}` }),
        ]);
      }
    };
    const serviceJson = (name: string): Record<string, unknown> => ({
      name: `projects/${projectNumber}/services/${name}`,
      parent: `projects/${projectNumber}`,
      config: { name, title: TITLES[name] ?? name },
      state: st.enabled.includes(name) ? 'ENABLED' : 'DISABLED',
    });
    const PAGE = 50;

    ctx.router.add({
      method: 'GET',
      path: '/serviceusage/v1/projects/{project}/services',
      api: 'serviceusage',
      name: 'ListServices',
      handler: (req) => {
        checkProject(req.params.project);
        const filter = (req.query.get('filter') ?? '').trim();
        const m = /^state:(ENABLED|DISABLED)$/i.exec(filter);
        if (filter && !m) throw errors.invalidArgument(`Invalid filter: ${filter}. Supported: state:ENABLED, state:DISABLED.`);
        const all = [...new Set([...Object.keys(TITLES), ...st.enabled])].sort();
        const wanted = m ? all.filter((n) => (st.enabled.includes(n) ? 'ENABLED' : 'DISABLED') === m[1]?.toUpperCase()) : all;
        const size = Math.min(Number(req.query.get('pageSize') ?? PAGE) || PAGE, 200);
        const start = Number(req.query.get('pageToken') ?? 0) || 0;
        const page = wanted.slice(start, start + size);
        const next = start + size < wanted.length ? String(start + size) : undefined;
        return { json: { services: page.map(serviceJson), ...(next ? { nextPageToken: next } : {}) } };
      },
    });
    ctx.router.add({
      method: 'GET',
      path: '/serviceusage/v1/projects/{project}/services/{service}',
      api: 'serviceusage',
      name: 'GetService',
      handler: (req) => {
        checkProject(req.params.project);
        return { json: serviceJson(String(req.params.service)) };
      },
    });
  },
};

export default serviceusage;

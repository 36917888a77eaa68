// Cloud Resource Manager v1 (cloudresourcemanager.googleapis.com): projects.get, what
// `gcloud projects describe` calls. The one project is the seed's `project` section.
// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER=http://127.0.0.1:PORT/cloudresourcemanager/
// Like Google, a project that does not exist and one the caller cannot see answer the same 403.
import type { ApiModule, SandboxContext } from '../context.js';

const cloudresourcemanager: ApiModule = {
  id: 'cloudresourcemanager',
  register(ctx: SandboxContext) {
    const { projectId, projectNumber } = ctx.project;
    ctx.router.add({
      method: 'GET',
      path: '/cloudresourcemanager/v1/projects/{projectId}',
      api: 'cloudresourcemanager',
      name: 'projects.get',
      handler: (req) => {
        const id = req.params.projectId;
        if (id !== projectId && id !== projectNumber) {
          throw ctx.errors.permissionDenied(`The caller does not have permission`, [
            ctx.errors.errorInfo('IAM_PERMISSION_DENIED', 'cloudresourcemanager.googleapis.com', { permission: 'resourcemanager.projects.get', resource: `projects/${id}` }),
          ]);
        }
        return {
          json: {
            projectNumber,
            projectId,
            lifecycleState: 'ACTIVE',
            name: projectId,
            createTime: '2025-01-01T00:00:00.000Z',
            parent: { type: 'organization', id: '100000000001' },
          },
        };
      },
    });
  },
};

export default cloudresourcemanager;

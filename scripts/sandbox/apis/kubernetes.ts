// Kubernetes API servers for the sandbox's GKE clusters and self-hosted machines (see ../kubernetes/README.md).
import type { ApiModule } from '../context.js';
import { createKubernetes } from '../kubernetes/index.js';

const kubernetesModule: ApiModule = {
  id: 'kubernetes',
  async register(ctx) {
    await createKubernetes(ctx, {
      delays: {
        ...(process.env.MLABS_SANDBOX_KUBE_START_MS ? { startMs: Number(process.env.MLABS_SANDBOX_KUBE_START_MS) } : {}),
        ...(process.env.MLABS_SANDBOX_KUBE_JOB_MS ? { jobRunMs: Number(process.env.MLABS_SANDBOX_KUBE_JOB_MS) } : {}),
      },
    });
  },
};
export default kubernetesModule;

/**
 * The `MLABS_*` environment knobs the library reads, each documented once here and read only
 * through these functions. None is needed in production: they shorten waits in tests and the demo,
 * point the local stack at local copies, or let `npm run bench` measure loading alone.
 */

type Env = Record<string, string | undefined>;

/** The number in `name`, or undefined when it is unset, empty, not a number or not accepted. */
function millis(env: Env, name: string, accept: (v: number) => boolean): number | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const v = Number(raw);
  return Number.isFinite(v) && accept(v) ? v : undefined;
}

/**
 * `MLABS_RETRY_BASE_MS`: the base of http.ts's retry backoff (default 500 ms) and the pause between
 * zones in a node pool failover (default 5 s). 0 or more; tests set 1.
 */
export function retryBaseMs(env: Env = process.env): number | undefined {
  return millis(env, 'MLABS_RETRY_BASE_MS', (v) => v >= 0);
}

/** `MLABS_OPERATION_POLL_MS`: the shortest poll interval of the operation waiter (more than 0). */
export function operationPollMs(env: Env = process.env): number | undefined {
  return millis(env, 'MLABS_OPERATION_POLL_MS', (v) => v > 0);
}

/** `MLABS_LOAD_ONLY=1`: the entry returns before running anything (`npm run bench` measures bundle loading). */
export function loadOnly(env: Env = process.env): boolean {
  return env.MLABS_LOAD_ONLY === '1';
}

/** `MLABS_LOCAL_STACK_MANIFESTS`: a folder holding the local stack's kustomize bases instead of the suite's. */
export function localStackManifests(env: Env = process.env): string | undefined {
  return env.MLABS_LOCAL_STACK_MANIFESTS || undefined;
}

/** `MLABS_LOCAL_STACK_KFP_MIRROR`: a local copy of Kubeflow Pipelines' manifests (air-gapped machines, tests). */
export function kfpMirror(env: Env = process.env): string | undefined {
  return env.MLABS_LOCAL_STACK_KFP_MIRROR || undefined;
}

/** `MLABS_SSH_HOST`: the host name a workstation reaches the machine by, in the local stack's tunnel lines when its input ssh_host is empty. */
export function sshHost(env: Env = process.env): string | undefined {
  return env.MLABS_SSH_HOST || undefined;
}

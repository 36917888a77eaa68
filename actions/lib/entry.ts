/**
 * The one entry point every action uses: runs `main`, or `post` when the runner
 * calls the same bundle again as the post step, and reports failures once.
 */
import { loadOnly } from './config.js';
import { ActionError, describeError } from './errors.js';
import { permissionError } from './google/iam-denial.js';
import * as runner from './runner.js';

export interface ActionPhases {
  main: () => Promise<void>;
  /** Clean-up that must run after the job, even when `main` failed. */
  post?: () => Promise<void>;
}

const POST_MARKER = 'isPost';

export async function runAction(phases: ActionPhases): Promise<void> {
  // `npm run bench` measures what loading a bundle costs: everything up to here, nothing after.
  if (loadOnly()) return;
  const isPost = runner.getState(POST_MARKER) === 'true';
  const phase = isPost ? phases.post : phases.main;
  if (!isPost && phases.post) runner.saveState(POST_MARKER, 'true');
  if (!phase) return;
  try {
    await phase();
  } catch (caught) {
    // An IAM refusal becomes the missing permission, a role and the Terraform line that grants it.
    const err = (caught instanceof ActionError ? undefined : permissionError(caught)) ?? caught;
    runner.error(describeError(err), { title: err instanceof ActionError ? err.name : 'Unexpected error' });
    if (!(err instanceof ActionError) && err instanceof Error && err.stack) runner.debug(err.stack);
    process.exitCode = 1;
  }
}

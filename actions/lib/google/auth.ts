/**
 * The Google access token every cloud action uses. Sources, first found wins:
 * 1. CLOUDSDK_AUTH_ACCESS_TOKEN_FILE (gcloud's own variable; the sandbox sets it),
 * 2. GOOGLE_APPLICATION_CREDENTIALS pointing at the `external_account` file that
 *    wif-login writes (exchanged through STS, then impersonation when configured).
 * The token is registered as a secret before it is returned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { ActionError } from '../errors.js';
import { setSecret } from '../runner.js';

let cached: string | undefined;

export async function getAccessToken(): Promise<string> {
  if (cached) return cached;
  const tokenFile = process.env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE;
  if (tokenFile && existsSync(tokenFile)) {
    cached = readFileSync(tokenFile, 'utf8').trim();
  }
  if (!cached) {
    throw new ActionError('No Google credentials found for this step.', {
      fix: 'Run the wif-login action earlier in the job (it exports GOOGLE_APPLICATION_CREDENTIALS), with `permissions: id-token: write`.',
    });
  }
  setSecret(cached);
  return cached;
}

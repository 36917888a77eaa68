// Bearer tokens the sandbox issued. Every route that needs auth verifies here,
// so a token minted by any module (STS, IAM Credentials, ...) works everywhere.
import { randomBytes } from 'node:crypto';

export interface TokenInfo {
  token: string;
  /** Who the token stands for, e.g. a service account email or a federated principal. */
  subject: string;
  /** Free-form kind: 'sandbox' (the default admin token), 'sts', 'iamcredentials', 'github-runner', ... */
  kind: string;
  scopes: string[];
  issuedAt: number;
  expiresAt: number;
  /** Anything the issuing module wants to find again when the token comes back. */
  claims: Record<string, unknown>;
}

export interface IssueOptions {
  subject: string;
  kind?: string;
  scopes?: string[];
  /** Lifetime in seconds (default 3600). */
  ttlSeconds?: number;
  claims?: Record<string, unknown>;
  /** Use this exact token string instead of a random one. */
  token?: string;
}

export class TokenRegistry {
  private readonly tokens = new Map<string, TokenInfo>();
  constructor(private readonly now: () => number = Date.now) {}

  issue(opts: IssueOptions): TokenInfo {
    const issuedAt = this.now();
    const info: TokenInfo = {
      token: opts.token ?? `ya29.sandbox-${randomBytes(24).toString('base64url')}`,
      subject: opts.subject,
      kind: opts.kind ?? 'sandbox',
      scopes: opts.scopes ?? ['https://www.googleapis.com/auth/cloud-platform'],
      issuedAt,
      expiresAt: issuedAt + (opts.ttlSeconds ?? 3600) * 1000,
      claims: opts.claims ?? {},
    };
    this.tokens.set(info.token, info);
    return info;
  }

  /** The token's record if the sandbox issued it and it has not expired (or been revoked). */
  verify(token: string | undefined): TokenInfo | undefined {
    if (!token) return undefined;
    const info = this.tokens.get(token);
    if (!info || info.expiresAt <= this.now()) return undefined;
    return info;
  }

  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Expire a token now (tests of the 401 path). */
  expire(token: string): void {
    const info = this.tokens.get(token);
    if (info) info.expiresAt = this.now() - 1;
  }
}

export function bearerOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return m?.[1]?.trim();
}

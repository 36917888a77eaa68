// Google's error shape: {"error": {"code", "message", "status", "details"}}.

export type GoogleStatus =
  | 'INVALID_ARGUMENT'
  | 'FAILED_PRECONDITION'
  | 'OUT_OF_RANGE'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ABORTED'
  | 'ALREADY_EXISTS'
  | 'RESOURCE_EXHAUSTED'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'UNIMPLEMENTED';

/** HTTP code for each google.rpc.Code name, as Google's REST surface maps them. */
export const HTTP_STATUS: Record<GoogleStatus, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Numeric google.rpc.Code, used inside Operation.error (a google.rpc.Status). */
export const RPC_CODE: Record<GoogleStatus, number> = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
};

export type ErrorDetail = Record<string, unknown> & { '@type': string };

/** Throw this from a handler: the server answers with Google's error body. */
export class GoogleError extends Error {
  readonly status: GoogleStatus;
  readonly httpStatus: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(
    status: GoogleStatus,
    message: string,
    details: ErrorDetail[] = [],
    opts: { httpStatus?: number; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'GoogleError';
    this.status = status;
    this.httpStatus = opts.httpStatus ?? HTTP_STATUS[status];
    this.details = details;
    this.headers = opts.headers ?? {};
  }

  toJSON(): { error: { code: number; message: string; status: GoogleStatus; details?: ErrorDetail[] } } {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        status: this.status,
        ...(this.details.length > 0 ? { details: this.details } : {}),
      },
    };
  }
}

export function errorInfo(reason: string, domain: string, metadata?: Record<string, string>): ErrorDetail {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain,
    ...(metadata ? { metadata } : {}),
  };
}

export function badRequest(field: string, description: string): ErrorDetail {
  return {
    '@type': 'type.googleapis.com/google.rpc.BadRequest',
    fieldViolations: [{ field, description }],
  };
}

export const invalidArgument = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('INVALID_ARGUMENT', message, details);
export const notFound = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('NOT_FOUND', message, details);
export const alreadyExists = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('ALREADY_EXISTS', message, details);
export const failedPrecondition = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('FAILED_PRECONDITION', message, details);
export const permissionDenied = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('PERMISSION_DENIED', message, details);
export const aborted = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('ABORTED', message, details);
export const resourceExhausted = (message: string, details: ErrorDetail[] = []): GoogleError =>
  new GoogleError('RESOURCE_EXHAUSTED', message, details);
export const unavailable = (message = 'The service is currently unavailable.'): GoogleError =>
  new GoogleError('UNAVAILABLE', message);
export const unauthenticated = (): GoogleError =>
  new GoogleError(
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
    [errorInfo('ACCESS_TOKEN_TYPE_UNSUPPORTED', 'googleapis.com')],
    { headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' } },
  );

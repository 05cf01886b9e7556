// Same-origin JSON requests. The page may be anonymous on loopback; elsewhere Django's session
// cookie goes with every request.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The most useful message in an error body: Jaeger v1 and v3, DRF, or plain text. */
export function errorMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const v3 = b.error as { message?: string } | undefined;
    if (v3 && typeof v3 === 'object' && v3.message) return v3.message;
    const v1 = b.errors as { msg?: string }[] | undefined;
    if (Array.isArray(v1) && v1.length && v1[0]?.msg) return v1.map((e) => e.msg).join('; ');
    if (typeof b.detail === 'string') return b.detail;
  }
  if (typeof body === 'string' && body.trim() && body.length < 300) return body.trim();
  if (status === 401 || status === 403) return 'Not signed in, or not allowed to see this';
  return `The server answered ${status}`;
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' }, signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError('meshview cannot be reached', 0, null);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (!response.ok) throw new ApiError(errorMessage(response.status, body), response.status, body);
  return body as T;
}

export function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError';
}

/** Django's CSRF token from its cookie: a signed-in session must send it with every change. */
function csrfToken(): string | null {
  if (typeof document === 'undefined') return null;
  const found = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='));
  return found ? decodeURIComponent(found.slice('csrftoken='.length)) : null;
}

/** POST, PUT, PATCH or DELETE a JSON body; the answer's JSON, null when it has none (204). */
export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const csrf = csrfToken();
  if (csrf) headers['X-CSRFToken'] = csrf;
  let response: Response;
  try {
    response = await fetch(url, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError('meshview cannot be reached', 0, null);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  if (!response.ok) throw new ApiError(errorMessage(response.status, parsed), response.status, parsed);
  return parsed as T;
}

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

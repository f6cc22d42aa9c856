// JSON calls to Greeter's HTTP API from the dashboard (same origin, cookie auth).

/** An API failure with the HTTP status and the server's error code. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

/**
 * Calls the API and returns the decoded JSON body. Non-2xx answers throw an
 * ApiError carrying the server's message when there is one.
 */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }

  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'Greeter could not be reached. Check your connection.');
  }

  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = (data && data.error) || `Request failed (${res.status}).`;
    throw new ApiError(res.status, message, data && data.code);
  }
  return data;
}

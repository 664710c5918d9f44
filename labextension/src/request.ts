/**
 * Calls to nbprod's REST API through JupyterLab's server connection, and the
 * one place where a failed call becomes a readable notification.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ApiErrorBody, encodePath, formatLocation, parseError } from './api';

/** A failed API call: the status and the server's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody
  ) {
    super(body.message);
    this.name = 'ApiError';
  }
}

/** The URL of an API route; `notebook` paths are encoded per segment. */
export function apiUrl(settings: ServerConnection.ISettings, ...parts: string[]): string {
  return URLExt.join(settings.baseUrl, 'nbprod/api', ...parts);
}

/** The route of a notebook's endpoint: `notebooks/<path>/<what>`. */
export function notebookRoute(path: string, what: string): string {
  return `notebooks/${encodePath(path)}/${what}`;
}

/**
 * Call the API and return the parsed JSON. Throws `ApiError` for any HTTP
 * error (with the server's message and hint) and for network failures.
 */
export async function requestApi<T = unknown>(
  route: string,
  init: RequestInit = {},
  query: Record<string, string | number | undefined> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const params = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  const url = apiUrl(settings, route) + (params.length ? `?${params.join('&')}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(0, {
      message: `cannot reach the Jupyter server: ${(error as Error).message}`,
      hint: 'check that JupyterLab is still running',
      location: null,
      files: []
    });
  }
  const text = await response.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    // not JSON: keep the text for the error message
  }
  if (!response.ok) {
    let body = parseError(data, response.status);
    if (response.status === 404 && !(typeof data === 'object' && data && 'error' in data)) {
      body = {
        ...body,
        message: `nbprod's server extension does not answer ${route}`,
        hint: 'is the nbprod server extension enabled? (jupyter server extension list)'
      };
    }
    throw new ApiError(response.status, body);
  }
  return data as T;
}

/** POST a JSON body. */
export function postApi<T = unknown>(route: string, body: unknown): Promise<T> {
  return requestApi<T>(route, { method: 'POST', body: JSON.stringify(body) });
}

/** The text of an error for a notification: message, location, hint. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const where = formatLocation(error.body.location);
    let text = error.body.message;
    if (where && !text.includes(where)) {
      text += ` (${where})`;
    }
    if (error.body.hint) {
      text += ` — ${error.body.hint}`;
    }
    return text;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Show an error as a JupyterLab notification; `what` says what failed. */
export function notifyError(what: string, error: unknown): void {
  console.warn(`nbprod: ${what}`, error);
  Notification.error(`${what}: ${errorText(error)}`, { autoClose: 10000 });
}

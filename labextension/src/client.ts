/**
 * The typed client of nbprod's REST API (`/nbprod/api/`): one method per
 * route, and the one place where route strings live. Every reply goes
 * through a parser of `parse.ts`; every failure is an `ApiError` carrying the
 * server's error body, whose machine `type` the sections decide on.
 */
import { Notification } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { DepsAdded, DepsReport, parseDepsAdded, parseDepsReport } from './depswire';
import { parametersJson } from './form';
import { encodePath, formatLocation, hintWithButtons } from './format';
import {
  parseAlerts,
  parseBatchReply,
  parseCheckSeries,
  parseComparison,
  parseError,
  parseExport,
  parseGitStatus,
  parseJob,
  parseMonitorList,
  parseMonitorReport,
  parseParameters,
  parsePlan,
  parseRunList,
  parseRunReply,
  parseServerInfo,
  parseShipPreview
} from './parse';
import { parseSync, SyncResult } from './syncwire';
import {
  AlertEvent,
  ApiErrorBody,
  CheckSeries,
  BatchReply,
  Comparison,
  ExportResult,
  GitStatus,
  Job,
  MonitorReport,
  Parameter,
  Plan,
  RunList,
  RunRecord,
  ServerInfo,
  ShipPreview
} from './wire';

/** A failed API call: the status and the server's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    /** The whole reply, for routes whose refusals carry a report (sync's conflicts). */
    readonly data: unknown = null
  ) {
    super(body.message);
    this.name = 'ApiError';
  }

  /** The error's machine type (`hand_edited`, `run_output`, ...). */
  get type(): string {
    return this.body.type;
  }
}

/** True when `error` is an API error of this machine `type`. */
export function isErrorType(error: unknown, type: string): error is ApiError {
  return error instanceof ApiError && error.body.type === type;
}

type Query = Record<string, string | number | undefined>;

/** The filters of the run history. */
export interface RunQuery {
  notebook?: string;
  status?: string;
  batch?: string;
  limit?: number;
}

/** What a batch is started with. */
export interface BatchRequest {
  notebook: string;
  jobs?: number;
  grid?: Record<string, unknown>;
  runs?: Record<string, unknown>[];
}

/** The client: one method per route of the API. */
export class NbprodClient {
  /* ---------- notebooks ---------- */

  /** `GET notebooks/<path>/plan`: the export plan of the saved notebook. */
  async plan(path: string): Promise<Plan> {
    return parsePlan(await this.request(notebookRoute(path, 'plan')));
  }

  /** `POST notebooks/<path>/plan`: the plan of unsaved content. */
  async planContent(path: string, content: unknown): Promise<Plan> {
    return parsePlan(await this.post(notebookRoute(path, 'plan'), { content }));
  }

  /**
   * `POST notebooks/<path>/sync`: hand edits of the generated files into the
   * notebook; `check` writes nothing. A refusal (409 conflicts, 422 an edit no
   * cell can take) throws an `ApiError` whose `data` parses with `parseSync`.
   */
  async syncNotebook(path: string, request: { check: boolean; prefer?: 'module' | 'notebook' }): Promise<SyncResult> {
    return parseSync(await this.post(notebookRoute(path, 'sync'), request));
  }

  /** `POST notebooks/<path>/export`. */
  async exportNotebook(path: string, force: boolean): Promise<ExportResult> {
    return parseExport(await this.post(notebookRoute(path, 'export'), { force }));
  }

  /** `GET notebooks/<path>/parameters`. */
  async parameters(path: string): Promise<Parameter[]> {
    return parseParameters(await this.request(notebookRoute(path, 'parameters')));
  }

  /* ---------- runs and batches ---------- */

  /** `GET runs`: the run history, filtered. */
  async runs(query: RunQuery = {}): Promise<RunList> {
    return parseRunList(await this.request('runs', {}, { ...query }));
  }

  /** `POST runs`: start one run; `floats` keep their decimal point (`1.0`). */
  async startRun(notebook: string, parameters: Record<string, unknown>, floats: ReadonlySet<string> = new Set()): Promise<RunRecord> {
    const body = `{"notebook": ${JSON.stringify(notebook)}, "parameters": ${parametersJson(parameters, floats)}}`;
    return parseRunReply(await this.request('runs', { method: 'POST', body }));
  }

  /** `GET runs/<id>`. */
  async run(id: string): Promise<RunRecord> {
    return parseRunReply(await this.request(`runs/${encodeURIComponent(id)}`));
  }

  /** `GET runs/compare?ids=a,b`: these runs side by side. */
  async compare(ids: string[]): Promise<Comparison> {
    return parseComparison(await this.request('runs/compare', {}, { ids: ids.join(',') }));
  }

  /** `GET runs/compare?batch=id`: the runs of a batch side by side. */
  async compareBatch(batch: string): Promise<Comparison> {
    return parseComparison(await this.request('runs/compare', {}, { batch }));
  }

  /** `GET runs/of?path=<output notebook>`: the run that wrote an output notebook. */
  async runOfOutput(path: string): Promise<{ run: RunRecord; sourceFile: string | null }> {
    const data = (await this.request('runs/of', {}, { path })) as Record<string, unknown>;
    const source = data?.source_file;
    return { run: parseRunReply(data), sourceFile: typeof source === 'string' ? source : null };
  }

  /** `POST batches`; `floats` keep their decimal point (`1.0`). */
  async startBatch(request: BatchRequest, floats: ReadonlySet<string> = new Set()): Promise<BatchReply> {
    const parts = [`"notebook": ${JSON.stringify(request.notebook)}`];
    if (request.jobs !== undefined) {
      parts.push(`"jobs": ${JSON.stringify(request.jobs)}`);
    }
    if (request.grid !== undefined) {
      parts.push(`"grid": ${parametersJson(request.grid, floats)}`);
    }
    if (request.runs !== undefined) {
      parts.push(`"runs": ${parametersJson(request.runs, floats)}`);
    }
    return parseBatchReply(await this.request('batches', { method: 'POST', body: `{${parts.join(', ')}}` }));
  }

  /** `GET batches/<id>`. */
  async batch(id: string): Promise<BatchReply> {
    return parseBatchReply(await this.request(`batches/${encodeURIComponent(id)}`));
  }

  /** `DELETE batches/<id>`: cancel what has not finished. */
  async cancelBatch(id: string): Promise<BatchReply> {
    return parseBatchReply(await this.request(`batches/${encodeURIComponent(id)}`, { method: 'DELETE' }));
  }

  /* ---------- gate, ship, jobs ---------- */

  /** `POST gate`: the quality gate as a job; `exportFirst` checks what a push would push. */
  async startGate(exportFirst = true): Promise<Job> {
    return parseJob(await this.post('gate', { export: exportFirst }));
  }

  /** `POST push`: export, gate, commit and push as a job. */
  async startPush(message: string): Promise<Job> {
    return parseJob(await this.post('push', { message }));
  }

  /** `GET jobs/<id>`. */
  async job(id: string): Promise<Job> {
    return parseJob(await this.request(`jobs/${encodeURIComponent(id)}`));
  }

  /** `GET git/status`. */
  async gitStatus(): Promise<GitStatus> {
    return parseGitStatus(await this.request('git/status'));
  }

  /** `GET ship/preview`: the files the next push will commit, with diffs. */
  async shipPreview(): Promise<ShipPreview> {
    return parseShipPreview(await this.request('ship/preview'));
  }

  /** `GET info`: the server's defaults (parallel jobs, runs folder). */
  async info(): Promise<ServerInfo> {
    return parseServerInfo(await this.request('info'));
  }

  /** `GET deps`: the package's imports against pyproject.toml's dependencies. */
  async deps(): Promise<DepsReport> {
    return parseDepsReport(await this.request('deps'));
  }

  /** `POST deps`: write the missing dependencies into pyproject.toml. */
  async addDeps(): Promise<DepsAdded> {
    return parseDepsAdded(await this.post('deps', {}));
  }

  /* ---------- monitoring ---------- */

  /** `GET monitor`: the latest run's checks of every monitored notebook. */
  async monitor(): Promise<MonitorReport[]> {
    return parseMonitorList(await this.request('monitor'));
  }

  /** `GET monitor?notebook=`: one notebook's latest checks. */
  async monitorNotebook(notebook: string): Promise<MonitorReport> {
    return parseMonitorReport(await this.request('monitor', {}, { notebook }));
  }

  /** `GET monitor/checks?notebook=&name=`: one check over runs, and a column's distributions. */
  async monitorCheck(notebook: string, name: string): Promise<CheckSeries> {
    return parseCheckSeries(await this.request('monitor/checks', {}, { notebook, name }));
  }

  /** `POST monitor/baseline`: pin a run as its notebook's baseline. */
  async setBaseline(notebook: string, run: string): Promise<void> {
    await this.post('monitor/baseline', { notebook, run });
  }

  /** `GET alerts?since=&run=`: alert events, oldest first. */
  async alerts(query: { since?: string; run?: string; notebook?: string } = {}): Promise<AlertEvent[]> {
    return parseAlerts(await this.request('alerts', {}, { ...query }));
  }

  /* ---------- transport ---------- */

  /**
   * Call the API and return the JSON. Throws `ApiError` for any HTTP error
   * (with the server's message and hint) and for network failures.
   */
  private async request(route: string, init: RequestInit = {}, query: Query = {}): Promise<unknown> {
    const settings = ServerConnection.makeSettings();
    const params = Object.entries(query)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
    const url = URLExt.join(settings.baseUrl, 'nbprod/api', route) + (params.length ? `?${params.join('&')}` : '');
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, settings);
    } catch (error) {
      throw new ApiError(0, {
        type: 'unreachable',
        message: `cannot reach the Jupyter server: ${(error as Error).message}`,
        hint: 'check that JupyterLab is still running',
        location: null,
        files: [],
        run_id: null,
        actions: []
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
          type: 'no_route',
          message: `nbprod's server extension does not answer ${route}`,
          hint: 'is the nbprod server extension enabled? (jupyter server extension list)'
        };
      }
      throw new ApiError(response.status, body, data);
    }
    return data;
  }

  private post(route: string, body: unknown): Promise<unknown> {
    return this.request(route, { method: 'POST', body: JSON.stringify(body) });
  }
}

/** The route of a notebook's endpoint: `notebooks/<path>/<what>`. */
function notebookRoute(path: string, what: string): string {
  return `notebooks/${encodePath(path)}/${what}`;
}

/** The text of an error for a notification: message, location, hint. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const where = formatLocation(error.body.location);
    let text = error.body.message;
    if (where && !text.includes(where)) {
      text += ` (${where})`;
    }
    const hint = hintWithButtons(error.body.hint, error.body.actions);
    if (hint) {
      text += ` — ${hint}`;
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

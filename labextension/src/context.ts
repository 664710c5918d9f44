/**
 * What the panel's sections share: the settings, the API client, the
 * services they use and the signals they talk through (one way: a section
 * emits, the others listen; no section calls another).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import { NbprodClient } from './client';
import { Parameter, Plan, ServerInfo } from './wire';

/** The user settings of nbprod (see labextension/schema/plugin.json). */
export interface NbprodSettings {
  /** Export the notebook each time it is saved. */
  exportOnSave: boolean;
  /** Milliseconds after the last edit before the preview refreshes. */
  previewDelay: number;
  /** Milliseconds between status requests of runs, batches and ship jobs. */
  pollInterval: number;
  /** Parallel runs of a batch started from the panel; 0: the server's default. */
  batchJobs: number;
}

export const DEFAULT_SETTINGS: NbprodSettings = {
  exportOnSave: false,
  previewDelay: 600,
  pollInterval: 1000,
  batchJobs: 0
};

/** Services and shared state of the panel and the history view. */
export interface NbprodContext {
  app: JupyterFrontEnd;
  docManager: IDocumentManager;
  editorServices: IEditorServices;
  fileBrowser: IDefaultFileBrowser | null;
  settings: NbprodSettings;
  /** The REST API. */
  client: NbprodClient;
  /** What the server said about itself (null until it answered). */
  info: ServerInfo | null;
  /** Emitted when `info` arrived. */
  infoChanged: Signal<object, ServerInfo>;
  /** Emitted when runs were started or finished (the history refreshes). */
  runsChanged: Signal<object, void>;
  /** Emitted after the theme changed (charts pick their colours again). */
  themeChanged: Signal<object, void> | null;
  /** Emitted with each new plan of the followed notebook (cell roles follow it). */
  planChanged: Signal<object, { panel: NotebookPanel; plan: Plan | null }>;
  /** Emitted when the followed notebook's parameters were read (the batch form). */
  parametersChanged: Signal<object, { panel: NotebookPanel | null; parameters: Parameter[] }>;
  /** Emitted after an export wrote files (ship refreshes what it will commit). */
  exported: Signal<object, void>;
  /** Emitted to open the run history at a run, or comparing runs. */
  historyRequested: Signal<object, HistoryRequest>;
}

/** What the history should show when it opens. */
export interface HistoryRequest {
  /** Highlight this run (and filter to its notebook). */
  run?: string;
  notebook?: string;
  /** Open the Compare view of these runs. */
  compare?: string[];
  /** Open the Compare view of the runs of this batch. */
  compareBatch?: string;
}

/** A section of the production panel, told when the notebook changes. */
export interface NotebookSection {
  setNotebook(panel: NotebookPanel | null): void;
}

/** The path of a notebook relative to the server root. */
export function notebookPath(panel: NotebookPanel): string {
  return panel.context.path;
}

/** Open a file (an output notebook) in the main area. */
export function openFile(ctx: NbprodContext, path: string): void {
  ctx.docManager.openOrReveal(path);
}

/** The parallel jobs of a batch: the user's setting, else the server's default. */
export function batchJobs(ctx: NbprodContext): number {
  return ctx.settings.batchJobs > 0 ? ctx.settings.batchJobs : (ctx.info?.default_jobs ?? 1);
}

/** True when `path` is under the project's runs folder (an output notebook). */
export function isRunOutput(ctx: NbprodContext, path: string): boolean {
  const dir = (ctx.info?.runs_dir ?? '').replace(/\/+$/, '');
  return dir !== '' && path.startsWith(`${dir}/`);
}

/**
 * What the panel's sections share: the settings, the services they use and
 * the signal that says the run history changed.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { NotebookPanel } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

/** The user settings of nbprod (see labextension/schema/plugin.json). */
export interface NbprodSettings {
  /** Export the notebook each time it is saved. */
  exportOnSave: boolean;
  /** Milliseconds after the last edit before the preview refreshes. */
  previewDelay: number;
  /** Milliseconds between status requests of runs, batches and ship jobs. */
  pollInterval: number;
  /** Parallel runs of a batch started from the panel. */
  batchJobs: number;
}

export const DEFAULT_SETTINGS: NbprodSettings = {
  exportOnSave: false,
  previewDelay: 600,
  pollInterval: 1000,
  batchJobs: 2
};

/** Services and shared state of the panel and the history view. */
export interface NbprodContext {
  app: JupyterFrontEnd;
  docManager: IDocumentManager;
  editorServices: IEditorServices;
  fileBrowser: IDefaultFileBrowser | null;
  settings: NbprodSettings;
  /** Emitted when runs were started or finished (the history refreshes). */
  runsChanged: Signal<object, void>;
  /** Emitted after the theme changed (charts pick their colours again). */
  themeChanged: Signal<object, void> | null;
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

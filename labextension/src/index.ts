/**
 * nbprod's JupyterLab extension: cell roles, the production panel (export,
 * run, batch, ship) and the run history.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IThemeManager, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Signal } from '@lumino/signaling';

import { activateCellRoles } from './cellroles';
import { NbprodClient } from './client';
import { DEFAULT_SETTINGS, NbprodContext, NbprodSettings } from './context';
import { CompareView } from './compareview';
import { HistoryView } from './history';
import { watchAlerts } from './monitoralerts';
import { MonitorView } from './monitorview';
import { nbprodIcon, PANEL_ID, ProductionPanel } from './panel';

const PLUGIN_ID = 'nbprod:plugin';

/** Command ids. */
export const CommandIDs = {
  openPanel: 'nbprod:open-panel',
  openHistory: 'nbprod:open-history',
  openMonitor: 'nbprod:open-monitor',
  export: 'nbprod:export',
  refreshPreview: 'nbprod:refresh-preview'
};

function readSettings(settings: ISettingRegistry.ISettings, target: NbprodSettings): void {
  const get = <K extends keyof NbprodSettings>(key: K): NbprodSettings[K] => {
    const value = settings.get(key).composite;
    return (value === undefined || value === null ? DEFAULT_SETTINGS[key] : value) as NbprodSettings[K];
  };
  target.exportOnSave = get('exportOnSave');
  target.previewDelay = Math.max(0, get('previewDelay'));
  target.pollInterval = Math.max(200, get('pollInterval'));
  target.batchJobs = Math.max(0, get('batchJobs'));
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Take notebooks to production: cell roles, export preview, runs, batches, history and ship.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager, IEditorServices],
  optional: [ICommandPalette, ISettingRegistry, IDefaultFileBrowser, ILayoutRestorer, IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    docManager: IDocumentManager,
    editorServices: IEditorServices,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    fileBrowser: IDefaultFileBrowser | null,
    restorer: ILayoutRestorer | null,
    themeManager: IThemeManager | null
  ) => {
    const themeChanged = themeManager ? new Signal<object, void>({}) : null;
    // the theme's CSS is in place only after the change: wait a frame
    themeManager?.themeChanged.connect(() => requestAnimationFrame(() => themeChanged?.emit()));
    const ctx: NbprodContext = {
      app,
      docManager,
      editorServices,
      fileBrowser,
      settings: { ...DEFAULT_SETTINGS },
      client: new NbprodClient(),
      info: null,
      infoChanged: new Signal({}),
      runsChanged: new Signal<object, void>({}),
      themeChanged,
      planChanged: new Signal({}),
      parametersChanged: new Signal({}),
      exported: new Signal<object, void>({}),
      historyRequested: new Signal({})
    };
    ctx.client
      .info()
      .then(info => {
        ctx.info = info;
        ctx.infoChanged.emit(info);
      })
      .catch(reason => console.warn('nbprod: the server did not say its defaults', reason));
    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          readSettings(settings, ctx.settings);
          settings.changed.connect(() => readSettings(settings, ctx.settings));
        })
        .catch(reason => console.warn('nbprod: cannot load the settings', reason));
    }

    activateCellRoles(app, tracker, palette, ctx);

    // the run history, in the main area
    const historyTracker = new WidgetTracker<MainAreaWidget<HistoryView>>({ namespace: 'nbprod-history' });
    let history: MainAreaWidget<HistoryView> | null = null;
    const openHistory = () => {
      if (!history || history.isDisposed) {
        history = new MainAreaWidget({ content: new HistoryView(ctx) });
        history.id = 'nbprod-history';
        history.title.label = 'Run History';
        history.title.icon = nbprodIcon;
        history.title.closable = true;
        void historyTracker.add(history);
      }
      if (!history.isAttached) {
        app.shell.add(history, 'main');
      } else {
        void history.content.refresh();
      }
      app.shell.activateById(history.id);
    };

    // the Compare view, in the main area next to the history
    let compare: MainAreaWidget<CompareView> | null = null;
    const openCompare = (request: { ids?: string[]; batch?: string }) => {
      if (!compare || compare.isDisposed) {
        compare = new MainAreaWidget({ content: new CompareView(ctx) });
        compare.id = 'nbprod-compare';
        compare.title.label = 'Compare Runs';
        compare.title.icon = nbprodIcon;
        compare.title.closable = true;
      }
      if (!compare.isAttached) {
        app.shell.add(compare, 'main', history?.isAttached ? { ref: history.id, mode: 'split-bottom' } : undefined);
      }
      app.shell.activateById(compare.id);
      void compare.content.load(request);
    };
    ctx.historyRequested.connect((_, request) => {
      if (request.compare) {
        openCompare({ ids: request.compare });
      } else if (request.compareBatch) {
        openCompare({ batch: request.compareBatch });
      } else {
        openHistory();
        if (request.run) {
          history!.content.showRun(request.run, request.notebook ?? null);
        }
      }
    });

    // the Monitor view: drift and metric checks of the latest runs
    let monitor: MainAreaWidget<MonitorView> | null = null;
    const openMonitor = (notebook: string | null = null, key: string | null = null) => {
      if (!monitor || monitor.isDisposed) {
        monitor = new MainAreaWidget({ content: new MonitorView(ctx) });
        monitor.id = 'nbprod-monitor';
        monitor.title.label = 'Monitor';
        monitor.title.icon = nbprodIcon;
        monitor.title.closable = true;
      }
      if (!monitor.isAttached) {
        app.shell.add(monitor, 'main');
      }
      app.shell.activateById(monitor.id);
      monitor.content.showNotebook(notebook, key);
    };
    watchAlerts(ctx, openMonitor);

    const panel = new ProductionPanel(ctx, tracker, openHistory);
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, PANEL_ID);
    if (restorer) {
      void restorer.restore(historyTracker, {
        command: CommandIDs.openHistory,
        name: () => 'nbprod-history'
      });
    }

    const { commands } = app;
    commands.addCommand(CommandIDs.openPanel, {
      label: 'Open Production Panel',
      caption: 'Export preview, runs, batches and ship for the current notebook',
      execute: () => app.shell.activateById(PANEL_ID)
    });
    commands.addCommand(CommandIDs.openHistory, {
      label: 'Open Run History',
      caption: 'Every run of the project, with its parameters, metrics and output',
      execute: openHistory
    });
    commands.addCommand(CommandIDs.openMonitor, {
      label: 'Open Monitor',
      caption: 'Drift and metric checks of the latest runs against their baselines',
      execute: args => openMonitor(typeof args?.notebook === 'string' ? args.notebook : null)
    });
    commands.addCommand(CommandIDs.export, {
      label: 'Export Notebook to Module and Tests',
      caption: 'Write the module and tests of the current notebook',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => panel.exportSection.export(false)
    });
    commands.addCommand(CommandIDs.refreshPreview, {
      label: 'Refresh Export Preview',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => panel.exportSection.refresh(true)
    });
    for (const command of Object.values(CommandIDs)) {
      palette?.addItem({ command, category: 'nbprod' });
    }
    document.body.dataset.nbprod = 'active';
  }
};

export default plugin;

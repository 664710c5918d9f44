/**
 * The production panel (right sidebar): export, run, batch and ship for the
 * notebook that is active in the main area.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

import { BatchSection } from './batchsection';
import { isRunOutput, NbprodContext } from './context';
import { button, fill, h, pathNodes } from './dom';
import { ExportSection } from './exportsection';
import { OutputSection } from './outputsection';
import { RunSection } from './runsection';
import { ShipSection } from './shipsection';

export const PANEL_ID = 'nbprod-production-panel';

/**
 * The icon of the panel's tab: a ship (a hull on a wave, a mast and a sail),
 * drawn like JupyterLab's own icons: 16 px, one fill that follows the theme
 * through the `jp-icon3` class.
 */
export const nbprodIcon = new LabIcon({
  name: 'nbprod:ship',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M11 2h2v10h-2z"/>' +
    '<path d="M13 3.2 19.5 11H13z"/>' +
    '<path d="M9.8 5 5 11h4.8z"/>' +
    '<path d="M2.5 13h19l-2.6 5.2c-.3.5-.8.8-1.4.8H6.5c-.6 0-1.1-.3-1.4-.8z"/>' +
    '<path d="M2 21.2c1.3 0 2-.7 2.7-.7s1.4.7 2.6.7 1.9-.7 2.6-.7 1.4.7 2.6.7 1.9-.7 2.6-.7 1.4.7 2.6.7 1.9-.7 2.6-.7 1.3.7 2.2.7v1.3c-1.3 0-2-.7-2.7-.7s-1.4.7-2.6.7-1.9-.7-2.6-.7-1.4.7-2.6.7-1.9-.7-2.6-.7-1.4.7-2.6.7-1.9-.7-2.6-.7-1.3.7-2.2.7z"/>' +
    '</g></svg>'
});

export class ProductionPanel extends Panel {
  constructor(
    private ctx: NbprodContext,
    private tracker: INotebookTracker,
    openHistory: () => void
  ) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-nbprod-panel');
    this.title.icon = nbprodIcon;
    this.title.caption = 'Production (nbprod)';

    this.header = h('div', { className: 'jp-nbprod-header' });
    this.notebookLabel = h('div', { className: 'jp-nbprod-notebook' });
    this.header.append(
      h('h2', { className: 'jp-nbprod-title' }, 'Production'),
      this.notebookLabel,
      button('History', openHistory, { className: 'jp-nbprod-historyButton', title: 'Open the run history' }),
      button('Monitor', () => void ctx.app.commands.execute('nbprod:open-monitor'), {
        className: 'jp-nbprod-monitorButton',
        title: 'Open the Monitor: drift and metric checks of the latest runs'
      })
    );
    const header = new Widget({ node: this.header });
    this.exportSection = new ExportSection(ctx);
    this.runSection = new RunSection(ctx);
    this.batchSection = new BatchSection(ctx);
    this.shipSection = new ShipSection(ctx);
    this.outputSection = new OutputSection(ctx);
    this.outputSection.hide();
    for (const widget of [header, this.outputSection, this.exportSection, this.runSection, this.batchSection, this.shipSection]) {
      this.addWidget(widget);
    }
    tracker.currentChanged.connect(this.follow, this);
    // the runs folder is known once the server answered: look again then
    ctx.infoChanged.connect(this.refollow, this);
    this.follow();
  }

  private refollow(): void {
    const panel = this.current;
    this.current = null;
    this.followed = null;
    this.show_(panel);
  }

  /** Show the notebook that is current in the tracker. */
  private follow(): void {
    const panel: NotebookPanel | null = this.tracker.currentWidget;
    if (panel === this.current) {
      return;
    }
    this.show_(panel);
  }

  private show_(panel: NotebookPanel | null): void {
    // what was connected for the last notebook is let go before the next one
    this.followed?.disposed.disconnect(this.onDisposed, this);
    this.current = panel;
    this.followed = panel;
    fill(this.notebookLabel, ...(panel ? pathNodes(panel.context.path) : ['no notebook open']));
    this.notebookLabel.title = this.notebookLabel.textContent ?? '';
    panel?.disposed.connect(this.onDisposed, this);
    const output = !!panel && isRunOutput(this.ctx, panel.context.path);
    this.node.dataset.following = output ? 'output' : panel ? 'source' : 'none';
    // an output notebook is a result: its run, not Export and Run
    this.outputSection.setHidden(!output);
    for (const part of [this.exportSection, this.runSection, this.batchSection]) {
      part.setHidden(output);
      part.setNotebook(output ? null : panel);
    }
    this.outputSection.setNotebook(output ? panel : null);
    this.shipSection.setNotebook(panel);
  }

  private onDisposed(panel: NotebookPanel): void {
    if (this.current === panel) {
      this.current = null;
      this.follow();
    }
  }

  dispose(): void {
    this.tracker.currentChanged.disconnect(this.follow, this);
    this.ctx.infoChanged.disconnect(this.refollow, this);
    this.followed?.disposed.disconnect(this.onDisposed, this);
    super.dispose();
  }

  /** The export part (commands use it). */
  readonly exportSection: ExportSection;
  readonly runSection: RunSection;
  readonly batchSection: BatchSection;
  readonly shipSection: ShipSection;
  readonly outputSection: OutputSection;
  private current: NotebookPanel | null = null;
  private followed: NotebookPanel | null = null;
  private header: HTMLElement;
  private notebookLabel: HTMLElement;
}

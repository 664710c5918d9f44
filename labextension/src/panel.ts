/**
 * The production panel (right sidebar): export, run, batch and ship for the
 * notebook that is active in the main area.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

import { BatchSection } from './batchsection';
import { NbprodContext } from './context';
import { button, h } from './dom';
import { ExportSection } from './exportsection';
import { RunSection } from './runsection';
import { ShipSection } from './shipsection';

export const PANEL_ID = 'nbprod-production-panel';

/** The icon of the panel's tab: a box with an arrow out of it (ship). */
export const nbprodIcon = new LabIcon({
  name: 'nbprod:ship',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<path d="M12 2 6.5 7.5l1.4 1.4L11 5.8V15h2V5.8l3.1 3.1 1.4-1.4z"/>' +
    '<path d="M4 13h2v6h12v-6h2v8H4z"/>' +
    '</g></svg>'
});

export class ProductionPanel extends Panel {
  constructor(
    ctx: NbprodContext,
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
      button('History', openHistory, { className: 'jp-nbprod-historyButton', title: 'Open the run history' })
    );
    const header = new Widget({ node: this.header });
    this.exportSection = new ExportSection(ctx);
    this.runSection = new RunSection(ctx);
    this.batchSection = new BatchSection(ctx);
    this.shipSection = new ShipSection(ctx);
    for (const widget of [header, this.exportSection, this.runSection, this.batchSection, this.shipSection]) {
      this.addWidget(widget);
    }
    tracker.currentChanged.connect(this.follow, this);
    this.follow();
  }

  /** Show the notebook that is current in the tracker. */
  private follow(): void {
    const panel: NotebookPanel | null = this.tracker.currentWidget;
    if (panel === this.current) {
      return;
    }
    // what was connected for the last notebook is let go before the next one
    this.current?.disposed.disconnect(this.onDisposed, this);
    this.current = panel;
    this.notebookLabel.textContent = panel ? panel.context.path : 'no notebook open';
    this.notebookLabel.title = this.notebookLabel.textContent;
    panel?.disposed.connect(this.onDisposed, this);
    for (const part of [this.exportSection, this.runSection, this.batchSection, this.shipSection]) {
      part.setNotebook(panel);
    }
  }

  private onDisposed(panel: NotebookPanel): void {
    if (this.current === panel) {
      this.current = null;
      this.follow();
    }
  }

  dispose(): void {
    this.tracker.currentChanged.disconnect(this.follow, this);
    this.current?.disposed.disconnect(this.onDisposed, this);
    super.dispose();
  }

  /** The export part (commands use it). */
  readonly exportSection: ExportSection;
  readonly runSection: RunSection;
  readonly batchSection: BatchSection;
  readonly shipSection: ShipSection;
  private current: NotebookPanel | null = null;
  private header: HTMLElement;
  private notebookLabel: HTMLElement;
}

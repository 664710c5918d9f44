/**
 * What the panel shows for a run's output notebook: a result, not a source.
 * The run it came from (status, effective parameters as given, metrics,
 * error), a link to it in the History and to its source notebook; no Export
 * and no Run (the server refuses both for outputs).
 */
import { NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { errorText } from './client';
import { NbprodContext, NotebookSection, notebookPath, openFile } from './context';
import { badge, button, fill, h, section, working } from './dom';
import { formatDuration, formatValue, parameterValue } from './format';
import { RunRecord } from './wire';

export class OutputSection extends Widget implements NotebookSection {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-outputPart');
    const { node, body } = section('Run output', 'jp-nbprod-outputSection');
    this.node.append(node);
    this.body = body;
  }

  setNotebook(panel: NotebookPanel | null): void {
    if (panel === this.panel) {
      return;
    }
    this.panel = panel;
    fill(this.body);
    if (panel) {
      void this.load(panel);
    }
  }

  private async load(panel: NotebookPanel): Promise<void> {
    const path = notebookPath(panel);
    fill(this.body, h('p', { className: 'jp-nbprod-note' }, 'This notebook is the output of a run: a result, not a source. Export and Run work on its source notebook.'));
    const status = h('div', {});
    this.body.append(status);
    const stop = working(status, 'finding its run…', 0);
    try {
      const { run, sourceFile } = await this.ctx.client.runOfOutput(path);
      if (panel !== this.panel) {
        return;
      }
      this.sourceFile = sourceFile;
      stop();
      this.render(run);
    } catch (error) {
      stop();
      if (panel === this.panel) {
        fill(status, h('p', { className: 'jp-nbprod-empty' }, `The run history has no run for it: ${errorText(error)}`));
      }
    }
  }

  private render(run: RunRecord): void {
    const params = Object.keys(run.parameters);
    const metrics = Object.entries(run.metrics);
    fill(
      this.body,
      h('p', { className: 'jp-nbprod-note' }, 'This notebook is the output of a run: a result, not a source. Export and Run work on its source notebook.'),
      h(
        'div',
        { className: 'jp-nbprod-run', 'data-status': run.status, 'data-run-id': run.id },
        h(
          'div',
          { className: 'jp-nbprod-row' },
          badge(run.status),
          h('span', { className: 'jp-nbprod-runId' }, run.id),
          run.duration !== null ? h('span', { className: 'jp-nbprod-duration' }, formatDuration(run.duration)) : null
        ),
        h(
          'dl',
          { className: 'jp-nbprod-metrics jp-nbprod-outputParams' },
          h('dt', {}, 'source'),
          h('dd', {}, run.notebook),
          run.batch_id ? [h('dt', {}, 'batch'), h('dd', {}, run.batch_id)] : null,
          params.length
            ? params.flatMap(k => [h('dt', {}, k), h('dd', {}, parameterValue(run, k))])
            : [h('dt', {}, 'parameters'), h('dd', {}, 'the defaults')]
        ),
        metrics.length
          ? h(
              'dl',
              { className: 'jp-nbprod-metrics jp-nbprod-outputMetrics' },
              metrics.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, formatValue(value))])
            )
          : null,
        run.error ? h('div', { className: 'jp-nbprod-runError' }, `${run.error.ename}: ${run.error.evalue}`) : null
      ),
      h(
        'div',
        { className: 'jp-nbprod-row' },
        button('Show in History', () => this.ctx.historyRequested.emit({ run: run.id, notebook: run.notebook }), {
          className: 'jp-nbprod-showRun',
          title: 'Open the run history at this run'
        }),
        this.sourceFile
          ? button('Open Source Notebook', () => openFile(this.ctx, this.sourceFile!), {
          className: 'jp-nbprod-openSource',
              title: `Open ${run.notebook} to export or run it`
            })
          : null
      )
    );
  }

  private panel: NotebookPanel | null = null;
  private sourceFile: string | null = null;
  private body: HTMLElement;
}

/**
 * The run history (main area): runs filtered by notebook, status and batch,
 * each opening its output notebook, and a chart of one metric across runs.
 */
import { Widget } from '@lumino/widgets';
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip
} from 'chart.js';

import { Notification } from '@jupyterlab/apputils';

import { notifyError } from './client';
import { NbprodContext, openFile } from './context';
import { badge, button, cssVar, fill, h } from './dom';
import { SortKey, sortRuns } from './compare';
import { chartPoints, formatDuration, formatValue, metricNames, parameterValue } from './format';
import { alertsByRun } from './monitor';
import { RunRecord } from './wire';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);

const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled'];

export class HistoryView extends Widget {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-history');
    this.notebookSelect = h('select', { className: 'jp-mod-styled jp-nbprod-filterNotebook', 'aria-label': 'Notebook', onchange: () => void this.refresh() });
    this.statusSelect = h(
      'select',
      { className: 'jp-mod-styled jp-nbprod-filterStatus', 'aria-label': 'Status', onchange: () => void this.refresh() },
      STATUSES.map(s => h('option', { value: s }, s || 'any status'))
    );
    this.batchInput = h('input', {
      type: 'text',
      className: 'jp-mod-styled jp-nbprod-input jp-nbprod-filterBatch',
      placeholder: 'batch id',
      'aria-label': 'Batch',
      onchange: () => void this.refresh(),
      oninput: () => this.updateButtons()
    });
    this.metricSelect = h('select', {
      className: 'jp-mod-styled jp-nbprod-metricSelect',
      'aria-label': 'Metric',
      onchange: () => {
        this.metric = this.metricSelect.value;
        this.renderChart();
      }
    });
    this.countNode = h('span', { className: 'jp-nbprod-count' });
    this.compareButton = button('Compare', () => this.compareSelected(), {
      accept: true,
      className: 'jp-nbprod-compareButton',
      title: 'Compare the selected runs side by side'
    });
    this.compareBatchButton = button('Compare Batch', () => this.compareBatch(), {
      className: 'jp-nbprod-compareBatchButton',
      title: 'Select the runs of the batch in the Batch filter and compare them'
    });
    this.canvas = h('canvas', { className: 'jp-nbprod-chartCanvas' });
    this.tableNode = h('div', { className: 'jp-nbprod-historyTable' });
    this.node.append(
      h(
        'div',
        { className: 'jp-nbprod-filters' },
        h('label', {}, 'Notebook ', this.notebookSelect),
        h('label', {}, 'Status ', this.statusSelect),
        h('label', {}, 'Batch ', this.batchInput),
        button('Refresh', () => void this.refresh(), { className: 'jp-nbprod-refresh' }),
        this.countNode,
        this.compareButton,
        this.compareBatchButton
      ),
      h(
        'div',
        { className: 'jp-nbprod-chart' },
        h('label', {}, 'Metric ', this.metricSelect),
        h('div', { className: 'jp-nbprod-chartBox' }, this.canvas)
      ),
      this.tableNode
    );
    ctx.runsChanged.connect(this.onRunsChanged, this);
    ctx.themeChanged?.connect(() => this.renderChart(), this);
  }

  dispose(): void {
    this.ctx.runsChanged.disconnect(this.onRunsChanged, this);
    this.chart?.destroy();
    super.dispose();
  }

  /** Show one run: filter to its notebook, highlight its row. */
  showRun(runId: string, notebook: string | null): void {
    this.highlight = runId;
    if (notebook !== null) {
      this.wantedNotebook = notebook;
    }
    this.statusSelect.value = '';
    this.batchInput.value = '';
    void this.refresh();
  }

  private compareSelected(): void {
    const ids = this.runs.filter(r => this.selected.has(r.id)).map(r => r.id);
    if (ids.length >= 2) {
      this.ctx.historyRequested.emit({ compare: ids });
    }
  }

  private compareBatch(): void {
    const batch = this.batchInput.value.trim() || this.batchOfSelection();
    if (batch) {
      this.ctx.historyRequested.emit({ compareBatch: batch });
    }
  }

  /** The one batch all selected runs belong to, or ''. */
  private batchOfSelection(): string {
    const batches = new Set(this.runs.filter(r => this.selected.has(r.id)).map(r => r.batch_id ?? ''));
    return batches.size === 1 ? [...batches][0] : '';
  }

  private updateButtons(): void {
    const count = this.runs.filter(r => this.selected.has(r.id)).length;
    this.compareButton.disabled = count < 2;
    this.compareButton.textContent = count >= 2 ? `Compare ${count}` : 'Compare';
    this.compareButton.title = count < 2 ? 'Select two or more runs (the checkboxes) to compare them' : `Compare the ${count} selected runs side by side`;
    const batch = this.batchInput.value.trim() || this.batchOfSelection();
    this.compareBatchButton.disabled = !batch;
    this.compareBatchButton.title = batch ? `Compare every run of batch ${batch}` : 'Filter by a batch (click a batch id) to compare its runs';
  }

  private sortBy(key: SortKey): void {
    const same = JSON.stringify(key) === JSON.stringify(this.sort);
    this.descending = same ? !this.descending : key.kind === 'metric';
    this.sort = key;
    this.render();
  }

  /** Filter the history to one notebook (or all with ''). */
  setNotebookFilter(notebook: string): void {
    this.wantedNotebook = notebook;
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  protected onAfterAttach(): void {
    void this.refresh();
  }

  private onRunsChanged(): void {
    if (this.isVisible) {
      void this.refresh();
    }
  }

  async refresh(): Promise<void> {
    const seq = ++this.sequence;
    if (!this.loadedOnce) {
      fill(this.tableNode, h('p', { className: 'jp-nbprod-loading' }, 'Reading the run history…'));
    }
    if (this.wantedNotebook !== null) {
      this.ensureOption(this.wantedNotebook);
      this.notebookSelect.value = this.wantedNotebook;
      this.wantedNotebook = null;
    }
    try {
      const query = {
        notebook: this.notebookSelect.value || undefined,
        status: this.statusSelect.value || undefined,
        batch: this.batchInput.value.trim() || undefined,
        limit: 500
      };
      const [list, all, alerts] = await Promise.all([
        this.ctx.client.runs(query),
        this.ctx.client.runs({ limit: 500 }),
        // the alert badges; a server without monitoring still shows its runs
        this.ctx.client.alerts().catch(() => [])
      ]);
      this.alerts = alertsByRun(alerts);
      if (seq !== this.sequence) {
        return;
      }
      this.runs = list.runs;
      this.total = list.total;
      this.loadedOnce = true;
      for (const notebook of [...new Set(all.runs.map(r => r.notebook))].sort()) {
        this.ensureOption(notebook);
      }
    } catch (error) {
      notifyError('Cannot read the run history', error);
      return;
    }
    this.render();
  }

  private ensureOption(notebook: string): void {
    if (!this.notebookSelect.options.length) {
      this.notebookSelect.append(h('option', { value: '' }, 'all notebooks'));
    }
    if (notebook && ![...this.notebookSelect.options].some(o => o.value === notebook)) {
      this.notebookSelect.append(h('option', { value: notebook }, notebook));
    }
  }

  private render(): void {
    this.countNode.textContent = `${this.runs.length === this.total ? this.total : `${this.runs.length} of ${this.total}`} run${this.total === 1 ? '' : 's'}`;
    const metrics = metricNames(this.runs);
    fill(this.metricSelect, metrics.map(m => h('option', { value: m }, m)));
    // keep the metric the user chose, also across filters that hide it for a while
    if (metrics.includes(this.metric)) {
      this.metricSelect.value = this.metric;
    }
    const params = [...new Set(this.runs.flatMap(r => Object.keys(r.parameters)))];
    const runs = this.sort ? sortRuns(this.runs, this.sort, this.descending) : this.runs;
    const header = (label: string, key: SortKey | null, className = '') => {
      const current = key && JSON.stringify(key) === JSON.stringify(this.sort);
      return h(
        'th',
        {
          className,
          'aria-sort': current ? (this.descending ? 'descending' : 'ascending') : undefined,
          'data-sort-key': key ? ('name' in key ? `${key.kind}:${key.name}` : key.kind) : undefined
        },
        key
          ? h(
              'button',
              { type: 'button', className: 'jp-nbprod-sortButton', title: `Sort by ${label}`, onclick: () => this.sortBy(key) },
              label,
              current ? (this.descending ? ' ▼' : ' ▲') : ''
            )
          : label
      );
    };
    const allSelected = this.runs.length > 0 && this.runs.every(r => this.selected.has(r.id));
    fill(
      this.tableNode,
      this.runs.length
        ? h(
            'table',
            { className: 'jp-nbprod-table jp-nbprod-runsTable' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h(
                  'th',
                  {},
                  h('input', {
                    type: 'checkbox',
                    'aria-label': 'Select all runs',
                    checked: allSelected,
                    onchange: (event: Event) => {
                      const on = (event.target as HTMLInputElement).checked;
                      for (const r of this.runs) {
                        if (on) {
                          this.selected.add(r.id);
                        } else {
                          this.selected.delete(r.id);
                        }
                      }
                      this.render();
                    }
                  })
                ),
                header('run', { kind: 'run' }),
                header('notebook', { kind: 'notebook' }),
                header('status', { kind: 'status' }),
                header('started', { kind: 'started' }),
                header('time', { kind: 'time' }),
                params.map(p => header(p, { kind: 'parameter', name: p }, 'jp-nbprod-paramColumn')),
                metrics.map(m => header(m, { kind: 'metric', name: m }, 'jp-nbprod-metricColumn')),
                header('commit', null),
                header('', null)
              )
            ),
            h(
              'tbody',
              {},
              runs.map(run =>
                h(
                  'tr',
                  {
                    'data-status': run.status,
                    'data-run-id': run.id,
                    className: run.id === this.highlight ? 'jp-mod-highlighted' : ''
                  },
                  h(
                    'td',
                    {},
                    h('input', {
                      type: 'checkbox',
                      className: 'jp-nbprod-selectRun',
                      'aria-label': `Select ${run.id}`,
                      checked: this.selected.has(run.id),
                      onchange: (event: Event) => {
                        if ((event.target as HTMLInputElement).checked) {
                          this.selected.add(run.id);
                        } else {
                          this.selected.delete(run.id);
                        }
                        this.updateButtons();
                      }
                    })
                  ),
                  h('td', { className: 'jp-nbprod-runId' }, run.id, run.batch_id
                      ? h(
                          'a',
                          {
                            href: '#',
                            className: 'jp-nbprod-batchId',
                            title: 'Show only the runs of this batch',
                            onclick: (event: Event) => {
                              event.preventDefault();
                              this.batchInput.value = run.batch_id!;
                              void this.refresh();
                            }
                          },
                          run.batch_id
                        )
                      : null),
                  h('td', {}, run.notebook),
                  h(
                    'td',
                    {},
                    badge(run.status),
                    this.alerts.has(run.id)
                      ? h('span', { className: 'jp-nbprod-badge jp-nbprod-alertBadge', title: this.alerts.get(run.id)!.join('\n') }, `alert ${this.alerts.get(run.id)!.length}`)
                      : null,
                    run.error ? h('div', { className: 'jp-nbprod-runError', title: run.error.evalue }, run.error.ename) : null
                  ),
                  h('td', {}, run.created_at ? new Date(run.created_at).toLocaleString() : ''),
                  h('td', {}, formatDuration(run.duration)),
                  params.map(p =>
                    p in run.parameters
                      ? h('td', { className: 'jp-nbprod-paramColumn', 'data-parameter': p }, parameterValue(run, p))
                      : h('td', { className: 'jp-nbprod-paramColumn jp-nbprod-default', title: 'not given: the parameters cell\'s default (Compare shows it)' }, 'default')
                  ),
                  metrics.map(m => h('td', { className: 'jp-nbprod-metricColumn' }, m in run.metrics ? formatValue(run.metrics[m]) : '')),
                  h('td', { title: run.git_commit ?? '' }, run.git_commit ? `${run.git_commit.slice(0, 7)}${run.git_dirty ? '*' : ''}` : ''),
                  h(
                    'td',
                    {},
                    run.output_file
                      ? h(
                          'a',
                          {
                            href: '#',
                            className: 'jp-nbprod-openOutput',
                            title: run.output_file,
                            onclick: (event: Event) => {
                              event.preventDefault();
                              openFile(this.ctx, run.output_file!);
                            }
                          },
                          'output'
                        )
                      : null,
                    run.status === 'succeeded'
                      ? h(
                          'a',
                          {
                            href: '#',
                            className: 'jp-nbprod-useBaseline',
                            title: 'Use this run as its notebook\'s baseline for drift and metric checks',
                            onclick: (event: Event) => {
                              event.preventDefault();
                              void this.useAsBaseline(run);
                            }
                          },
                          'use as baseline'
                        )
                      : null
                  )
                )
              )
            )
          )
        : h('p', { className: 'jp-nbprod-empty' }, 'No runs yet: run a notebook from the Production panel or with `nbprod run`.')
    );
    this.updateButtons();
    this.node.querySelector('tr.jp-mod-highlighted')?.scrollIntoView({ block: 'nearest' });
    this.renderChart();
  }

  private renderChart(): void {
    const metric = this.metricSelect.value;
    const points = metric ? chartPoints(this.runs, metric) : [];
    const color = cssVar('--jp-brand-color1', '#1976d2');
    const text = cssVar('--jp-ui-font-color1', '#333');
    const grid = cssVar('--jp-border-color2', '#ddd');
    this.chart?.destroy();
    this.chart = new Chart(this.canvas, {
      type: 'line',
      data: {
        labels: points.map(p => p.label),
        datasets: [
          {
            label: metric || 'no metrics recorded',
            data: points.map(p => p.value),
            borderColor: color,
            backgroundColor: color,
            pointRadius: 4,
            tension: 0
          }
        ]
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { ticks: { color: text, maxRotation: 60, autoSkip: true }, grid: { color: grid } },
          y: { ticks: { color: text }, grid: { color: grid } }
        },
        plugins: {
          legend: { labels: { color: text } },
          tooltip: {
            callbacks: {
              title: items => points[items[0]?.dataIndex]?.run.id ?? '',
              afterLabel: item => {
                const run = points[item.dataIndex]?.run;
                return run
                  ? Object.keys(run.parameters)
                      .map(k => `${k} = ${parameterValue(run, k)}`)
                      .join(', ')
                  : '';
              }
            }
          }
        }
      }
    });
    this.canvas.dataset.points = String(points.length);
  }

  private async useAsBaseline(run: RunRecord): Promise<void> {
    try {
      await this.ctx.client.setBaseline(run.notebook, run.id);
      Notification.success(`Run ${run.id} is now the baseline of ${run.notebook}`, {
        autoClose: 5000,
        actions: [{ label: 'Open Monitor', callback: () => void this.ctx.app.commands.execute('nbprod:open-monitor', { notebook: run.notebook }) }]
      });
    } catch (error) {
      notifyError('Cannot set the baseline', error);
    }
  }

  private alerts = new Map<string, string[]>();
  private runs: RunRecord[] = [];
  private selected = new Set<string>();
  private sort: SortKey | null = null;
  private descending = false;
  private highlight = '';
  private loadedOnce = false;
  private compareButton: HTMLButtonElement;
  private compareBatchButton: HTMLButtonElement;
  private metric = '';
  private total = 0;
  private sequence = 0;
  private wantedNotebook: string | null = null;
  private chart: Chart | null = null;
  private notebookSelect: HTMLSelectElement;
  private statusSelect: HTMLSelectElement;
  private batchInput: HTMLInputElement;
  private metricSelect: HTMLSelectElement;
  private countNode: HTMLElement;
  private canvas: HTMLCanvasElement;
  private tableNode: HTMLElement;
}

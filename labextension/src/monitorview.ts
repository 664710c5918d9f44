/**
 * The Monitor view (main area): every monitored notebook with its state (ok /
 * alert, since when), the checks of its latest run against the baseline, and
 * for the chosen check its charts: a drifted column's baseline and current
 * distributions overlaid, and the check's statistic across runs with its
 * threshold (for a metric: its values across runs with the rule's bound).
 */
import { Widget } from '@lumino/widgets';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip
} from 'chart.js';

import { errorText } from './client';
import { NbprodContext } from './context';
import { button, cssVar, fill, h, working } from './dom';
import { checkLabel, formatStatistic, orderedChecks, verdict } from './monitor';
import { CheckSeries, MonitorCheck, MonitorReport } from './wire';

Chart.register(BarController, BarElement, LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);

/** Okabe-Ito colours: baseline blue, current orange, threshold vermilion. */
const BASELINE = '#0072B2';
const CURRENT = '#E69F00';
const THRESHOLD = '#D55E00';

/** When a time was, briefly (local time). */
function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

export class MonitorView extends Widget {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-monitor');
    this.id = 'nbprod-monitor-view';
    this.listNode = h('div', { className: 'jp-nbprod-monitorList', role: 'list' });
    this.detailNode = h('div', { className: 'jp-nbprod-monitorDetail' });
    this.chartsTitle = h('h3', { className: 'jp-nbprod-subTitle jp-nbprod-monitorChartsTitle' });
    this.distributionCanvas = h('canvas', { className: 'jp-nbprod-distributionCanvas' });
    this.seriesCanvas = h('canvas', { className: 'jp-nbprod-seriesCanvas' });
    this.distributionFigure = h(
      'figure',
      { className: 'jp-nbprod-figure jp-nbprod-distributionFigure' },
      h('figcaption', {}, 'Baseline and current distribution (share of rows)'),
      h('div', { className: 'jp-nbprod-chartBox' }, this.distributionCanvas)
    );
    this.seriesCaption = h('figcaption', {}, 'Across runs');
    this.chartsNode = h(
      'div',
      { className: 'jp-nbprod-monitorCharts' },
      this.chartsTitle,
      h(
        'div',
        { className: 'jp-nbprod-compareCharts' },
        this.distributionFigure,
        h('figure', { className: 'jp-nbprod-figure jp-nbprod-seriesFigure' }, this.seriesCaption, h('div', { className: 'jp-nbprod-chartBox' }, this.seriesCanvas))
      )
    );
    this.chartsNode.hidden = true;
    this.node.append(
      h(
        'div',
        { className: 'jp-nbprod-compareHeader' },
        h('h2', { className: 'jp-nbprod-compareTitle' }, 'Monitor'),
        button('Refresh', () => void this.refresh(), { className: 'jp-nbprod-refresh' })
      ),
      h('div', { className: 'jp-nbprod-monitorBody' }, this.listNode, h('div', { className: 'jp-nbprod-monitorMain' }, this.detailNode, this.chartsNode))
    );
    ctx.runsChanged.connect(this.onRunsChanged, this);
    ctx.themeChanged?.connect(this.renderCharts, this);
  }

  dispose(): void {
    this.ctx.runsChanged.disconnect(this.onRunsChanged, this);
    this.ctx.themeChanged?.disconnect(this.renderCharts, this);
    this.destroyCharts();
    super.dispose();
  }

  /** Show this notebook (and this check) once the reports are in. */
  showNotebook(notebook: string | null, key: string | null = null): void {
    this.selected = notebook ?? this.selected;
    this.selectedKey = key;
    void this.refresh();
  }

  /** Read every monitored notebook's latest report again. */
  async refresh(): Promise<void> {
    const seq = ++this.sequence;
    const stop = this.reports.length ? () => undefined : working(this.listNode, 'reading the checks…', 0);
    try {
      const reports = await this.ctx.client.monitor();
      if (seq !== this.sequence) {
        return;
      }
      stop();
      this.reports = reports;
    } catch (error) {
      stop();
      if (seq === this.sequence) {
        fill(this.listNode, h('p', { className: 'jp-nbprod-empty' }, `Cannot read the checks: ${errorText(error)}`));
      }
      return;
    }
    if (!this.reports.some(r => r.notebook === this.selected)) {
      this.selected = (this.reports.find(r => !r.ok) ?? this.reports[0])?.notebook ?? null;
    }
    this.renderList();
    this.renderDetail();
  }

  private onRunsChanged(): void {
    if (this.isVisible) {
      void this.refresh();
    }
  }

  private renderList(): void {
    if (!this.reports.length) {
      fill(
        this.listNode,
        h(
          'p',
          { className: 'jp-nbprod-empty' },
          'No monitored notebooks yet: record a profile with nbprod.profile("input", df) in a notebook, or add [tool.nbprod.monitor."<notebook>"] to pyproject.toml.'
        )
      );
      return;
    }
    fill(
      this.listNode,
      this.reports.map(report => {
        const alert = !report.ok;
        return h(
          'button',
          {
            type: 'button',
            role: 'listitem',
            className: `jp-nbprod-monitorNotebook${report.notebook === this.selected ? ' jp-mod-selected' : ''}`,
            'data-notebook': report.notebook,
            'data-state': alert ? 'alert' : 'ok',
            onclick: () => {
              this.selected = report.notebook;
              this.selectedKey = null;
              this.renderList();
              this.renderDetail();
            }
          },
          h('span', { className: `jp-nbprod-badge jp-nbprod-monitorState jp-nbprod-state-${alert ? 'alert' : 'ok'}` }, alert ? 'alert' : 'ok'),
          h('span', { className: 'jp-nbprod-monitorName' }, report.notebook),
          h('span', { className: 'jp-nbprod-monitorSince' }, report.state.since ? `since ${when(report.state.since)}` : report.run ? '' : 'no run yet')
        );
      })
    );
  }

  private renderDetail(): void {
    const report = this.reports.find(r => r.notebook === this.selected);
    if (!report) {
      fill(this.detailNode);
      this.chartsNode.hidden = true;
      return;
    }
    if (!report.run) {
      fill(this.detailNode, h('p', { className: 'jp-nbprod-empty' }, `${report.notebook} has no succeeded run yet.`));
      this.chartsNode.hidden = true;
      return;
    }
    const checks = orderedChecks(report.checks);
    const drifted = checks.filter(c => c.kind === 'drift' && c.column !== null && !c.ok);
    const baseline = report.baseline === report.run ? 'itself (its first run)' : (report.baseline ?? 'none yet');
    if (!checks.some(c => c.key === this.selectedKey)) {
      this.selectedKey = (drifted[0] ?? checks.find(c => !c.ok) ?? checks[0])?.key ?? null;
    }
    fill(
      this.detailNode,
      h(
        'div',
        { className: 'jp-nbprod-monitorSummary' },
        h('span', { className: `jp-nbprod-badge jp-nbprod-state-${report.ok ? 'ok' : 'alert'}` }, report.ok ? 'ok' : 'alert'),
        ` ${report.notebook}: run ${report.run}, baseline ${baseline}`
      ),
      drifted.length
        ? h('p', { className: 'jp-nbprod-driftedColumns' }, 'Drifted columns: ', drifted.map(c => `${c.profile}.${c.column}`).join(', '))
        : null,
      checks.length
        ? h(
            'table',
            { className: 'jp-nbprod-table jp-nbprod-checksTable' },
            h(
              'thead',
              {},
              h('tr', {}, ['', 'kind', 'check', 'method', 'statistic', 'threshold', 'detail'].map(t => h('th', {}, t)))
            ),
            h(
              'tbody',
              {},
              checks.map(check =>
                h(
                  'tr',
                  {
                    'data-key': check.key,
                    'data-verdict': verdict(check),
                    className: check.key === this.selectedKey ? 'jp-mod-selected' : '',
                    tabIndex: 0,
                    title: 'Show this check across runs',
                    onclick: () => this.selectCheck(check.key),
                    onkeydown: (event: KeyboardEvent) => {
                      if (event.key === 'Enter') {
                        this.selectCheck(check.key);
                      }
                    }
                  },
                  h('td', {}, h('span', { className: `jp-nbprod-badge jp-nbprod-verdict-${verdict(check)}` }, verdict(check))),
                  h('td', {}, check.kind),
                  h('td', { className: 'jp-nbprod-checkName' }, checkLabel(check)),
                  h('td', {}, check.method),
                  h('td', { className: 'jp-nbprod-number' }, formatStatistic(check.statistic)),
                  h('td', { className: 'jp-nbprod-number' }, formatStatistic(check.threshold)),
                  h('td', { className: 'jp-nbprod-checkDetail' }, check.detail)
                )
              )
            )
          )
        : h('p', { className: 'jp-nbprod-empty' }, 'No checks: this run is its own baseline.')
    );
    void this.loadCharts(report);
  }

  private selectCheck(key: string): void {
    this.selectedKey = key;
    for (const row of this.detailNode.querySelectorAll('tr[data-key]')) {
      row.classList.toggle('jp-mod-selected', (row as HTMLElement).dataset.key === key);
    }
    const report = this.reports.find(r => r.notebook === this.selected);
    if (report) {
      void this.loadCharts(report);
    }
  }

  private async loadCharts(report: MonitorReport): Promise<void> {
    const key = this.selectedKey;
    const check = report.checks.find(c => c.key === key);
    if (!key || !check) {
      this.chartsNode.hidden = true;
      return;
    }
    const seq = ++this.chartSequence;
    try {
      const series = await this.ctx.client.monitorCheck(report.notebook, key);
      if (seq !== this.chartSequence) {
        return;
      }
      this.series = series;
      this.seriesCheck = check;
      this.chartsNode.hidden = false;
      this.renderCharts();
    } catch (error) {
      if (seq === this.chartSequence) {
        this.chartsNode.hidden = false;
        fill(this.chartsTitle, `Cannot read the check's history: ${errorText(error)}`);
      }
    }
  }

  private destroyCharts(): void {
    for (const chart of this.charts) {
      chart.destroy();
    }
    this.charts = [];
  }

  private renderCharts(): void {
    const series = this.series;
    const check = this.seriesCheck;
    if (!series || !check || this.chartsNode.hidden) {
      return;
    }
    this.destroyCharts();
    const text = cssVar('--jp-ui-font-color1', '#333');
    const grid = cssVar('--jp-border-color2', '#ddd');
    // centre: a single category in the middle of a line chart's axis, not on
    // its edge (bar charts, left to Chart.js, always centre theirs)
    const scales = (y: string, centre?: boolean) => ({
      x: { ticks: { color: text, maxRotation: 45 }, grid: { color: grid }, ...(centre ? { offset: true } : {}) },
      y: { ticks: { color: text }, grid: { color: grid }, title: { display: true, text: y, color: text } }
    });
    const legend = { labels: { color: text } };
    fill(this.chartsTitle, checkLabel(check), check.kind === 'drift' ? ` — ${check.method}` : '');
    const shown = series.distribution;
    this.distributionFigure.hidden = !shown;
    if (shown) {
      const labels =
        shown.kind === 'numeric'
          ? shown.baseline.map((_, i) => formatStatistic((shown.edges[i] + shown.edges[i + 1]) / 2))
          : shown.labels;
      this.charts.push(
        new Chart(this.distributionCanvas, {
          type: 'bar',
          data: {
            labels,
            datasets: [
              { label: 'baseline', data: shown.baseline, backgroundColor: `${BASELINE}99`, borderColor: BASELINE, borderWidth: 1 },
              { label: 'current', data: shown.current, backgroundColor: `${CURRENT}99`, borderColor: CURRENT, borderWidth: 1 }
            ]
          },
          options: {
            animation: false,
            responsive: true,
            maintainAspectRatio: false,
            plugins: { legend },
            scales: { ...scales('share of rows'), x: { ...scales('').x, stacked: false } }
          }
        })
      );
    }
    const points = series.series;
    const metric = check.kind === 'metric' && (check.method === 'min' || check.method === 'max');
    this.seriesCaption.textContent =
      check.kind === 'metric'
        ? `${check.metric} across runs, with the rule (${check.method})`
        : `${check.method} statistic across runs, with its threshold`;
    this.charts.push(
      new Chart(this.seriesCanvas, {
        type: 'line',
        data: {
          labels: points.map(p => p.run),
          datasets: [
            {
              label: metric ? (check.metric ?? 'value') : 'statistic',
              data: points.map(p => p.statistic),
              borderColor: BASELINE,
              backgroundColor: BASELINE,
              pointBackgroundColor: points.map(p => (p.ok ? BASELINE : THRESHOLD)),
              pointRadius: 4,
              spanGaps: true
            },
            {
              label: 'threshold',
              data: points.map(p => p.threshold),
              borderColor: THRESHOLD,
              borderDash: [6, 4],
              // one run has no line to draw: mark its threshold across the
              // middle of the chart, where the run's point is
              pointRadius: points.length < 2 ? 60 : 0,
              pointStyle: 'line',
              borderWidth: 1.5
            }
          ]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend },
          scales: scales(metric ? (check.metric ?? '') : check.method, points.length < 2)
        }
      })
    );
  }

  private listNode: HTMLElement;
  private detailNode: HTMLElement;
  private chartsNode: HTMLElement;
  private chartsTitle: HTMLElement;
  private distributionFigure: HTMLElement;
  private seriesCaption: HTMLElement;
  private distributionCanvas: HTMLCanvasElement;
  private seriesCanvas: HTMLCanvasElement;
  private reports: MonitorReport[] = [];
  private selected: string | null = null;
  private selectedKey: string | null = null;
  private series: CheckSeries | null = null;
  private seriesCheck: MonitorCheck | null = null;
  private charts: Chart[] = [];
  private sequence = 0;
  private chartSequence = 0;
}

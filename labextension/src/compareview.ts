/**
 * The Compare view (main area): runs side by side. Effective parameters
 * (defaults included) with an "only differences" toggle, metrics with the
 * best run marked, a scatter of a metric against a chosen parameter coloured
 * by another, parallel coordinates of parameters and metrics, and a metric
 * across the runs on a run axis.
 */
import { Widget } from '@lumino/widgets';
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  Plugin,
  PointElement,
  ScatterController,
  Tooltip
} from 'chart.js';

import { errorText } from './client';
import { ParallelAxis, parallelAxes, runLabel, scatter, visibleParameters } from './compare';
import { NbprodContext, openFile } from './context';
import { badge, cssVar, fill, h, working } from './dom';
import { formatValue } from './format';
import { Comparison } from './wire';

Chart.register(ScatterController, LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);

/** Okabe-Ito: colours told apart with colour blindness, on light and dark. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];

/** Each parallel axis's lowest value under it and its highest above it (what 0 and 1 mean there). */
function axisEnds(axes: ParallelAxis[], color: string): Plugin<'line'> {
  return {
    id: 'nbprodAxisEnds',
    afterDraw: chart => {
      const { ctx, scales } = chart;
      ctx.save();
      ctx.fillStyle = color;
      ctx.font = '11px sans-serif';
      ctx.textAlign = 'center';
      axes.forEach((a, i) => {
        const x = scales.x.getPixelForValue(i);
        if (a.high !== a.low) {
          ctx.textBaseline = 'bottom';
          ctx.fillText(a.high, x, scales.y.getPixelForValue(1) - 4);
        }
        ctx.textBaseline = 'top';
        ctx.fillText(a.low, x, scales.y.getPixelForValue(a.high === a.low ? 0.5 : 0) + 4);
      });
      ctx.restore();
    }
  };
}

export class CompareView extends Widget {
  constructor(private ctx: NbprodContext) {
    super();
    this.addClass('jp-nbprod-compare');
    this.titleNode = h('h2', { className: 'jp-nbprod-compareTitle' }, 'Compare runs');
    this.onlyDiff = h('input', {
      type: 'checkbox',
      className: 'jp-nbprod-onlyDifferences',
      checked: true,
      onchange: () => {
        this.renderTables();
        this.renderCharts();
      }
    });
    this.statusNode = h('div', { className: 'jp-nbprod-compareStatus' });
    this.paramsNode = h('div', { className: 'jp-nbprod-compareParams' });
    this.metricsNode = h('div', { className: 'jp-nbprod-compareMetrics' });
    const select = (cls: string, label: string) =>
      h('select', { className: `jp-mod-styled ${cls}`, 'aria-label': label, onchange: () => this.renderCharts() });
    this.metricSelect = select('jp-nbprod-compareMetric', 'Metric');
    this.xSelect = select('jp-nbprod-compareX', 'Parameter on the x axis');
    this.colourSelect = select('jp-nbprod-compareColour', 'Colour by');
    this.scatterCanvas = h('canvas', { className: 'jp-nbprod-scatterCanvas' });
    this.parallelCanvas = h('canvas', { className: 'jp-nbprod-parallelCanvas' });
    this.runAxisCanvas = h('canvas', { className: 'jp-nbprod-runAxisCanvas' });
    this.node.append(
      h(
        'div',
        { className: 'jp-nbprod-compareHeader' },
        this.titleNode,
        h('label', { className: 'jp-nbprod-toggle' }, this.onlyDiff, ' Only differences')
      ),
      this.statusNode,
      h('h3', { className: 'jp-nbprod-subTitle' }, 'Parameters (effective values: dim ones are the parameters cell\'s defaults)'),
      this.paramsNode,
      h('h3', { className: 'jp-nbprod-subTitle' }, 'Metrics (★ best)'),
      this.metricsNode,
      h(
        'div',
        { className: 'jp-nbprod-chartControls' },
        h('label', {}, 'Metric ', this.metricSelect),
        h('label', {}, 'against ', this.xSelect),
        h('label', {}, 'colour by ', this.colourSelect)
      ),
      h(
        'div',
        { className: 'jp-nbprod-compareCharts' },
        h('figure', { className: 'jp-nbprod-figure' }, h('figcaption', {}, 'Metric against a parameter'), h('div', { className: 'jp-nbprod-chartBox' }, this.scatterCanvas)),
        h('figure', { className: 'jp-nbprod-figure' }, h('figcaption', {}, 'Metric across the runs'), h('div', { className: 'jp-nbprod-chartBox' }, this.runAxisCanvas)),
        h('figure', { className: 'jp-nbprod-figure jp-nbprod-figureWide' }, h('figcaption', {}, 'Parallel coordinates: parameters and metrics'), h('div', { className: 'jp-nbprod-chartBox' }, this.parallelCanvas))
      )
    );
    ctx.themeChanged?.connect(this.renderCharts, this);
  }

  dispose(): void {
    this.ctx.themeChanged?.disconnect(this.renderCharts, this);
    for (const chart of this.charts) {
      chart.destroy();
    }
    super.dispose();
  }

  /** Compare these runs (ids), or the runs of a batch. */
  async load(request: { ids?: string[]; batch?: string }): Promise<void> {
    const seq = ++this.sequence;
    this.comparison = null;
    fill(this.paramsNode);
    fill(this.metricsNode);
    fill(this.statusNode);
    const stop = working(this.statusNode, 'comparing…', 0);
    try {
      const comparison = request.batch
        ? await this.ctx.client.compareBatch(request.batch)
        : await this.ctx.client.compare(request.ids ?? []);
      if (seq !== this.sequence) {
        return;
      }
      stop();
      this.comparison = comparison;
      this.titleNode.textContent = `Compare ${comparison.runs.length} runs${request.batch ? ` of batch ${request.batch}` : ''}`;
      this.fillSelects();
      this.renderTables();
      this.renderCharts();
    } catch (error) {
      stop();
      if (seq === this.sequence) {
        fill(this.statusNode, h('p', { className: 'jp-nbprod-empty' }, `Cannot compare: ${errorText(error)}`));
      }
    }
  }

  private fillSelects(): void {
    const c = this.comparison!;
    const keep = (select: HTMLSelectElement, options: string[], preferred: string) => {
      const old = select.value;
      fill(select, options.map(o => h('option', { value: o }, o || '(none)')));
      select.value = options.includes(old) ? old : preferred;
    };
    keep(this.metricSelect, c.metrics.map(m => m.name), c.metrics[0]?.name ?? '');
    const params = c.parameters.map(p => p.name);
    const differing = c.parameters.filter(p => p.differs).map(p => p.name);
    keep(this.xSelect, params, differing[0] ?? params[0] ?? '');
    keep(this.colourSelect, ['', ...params], differing.find(n => n !== this.xSelect.value) ?? '');
  }

  private renderTables(): void {
    const c = this.comparison;
    if (!c) {
      return;
    }
    const head = h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, ''),
        c.runs.map((run, i) =>
          h(
            'th',
            { 'data-run-id': run.id, title: run.id },
            h('div', {}, runLabel(run, i)),
            badge(run.status)
          )
        )
      )
    );
    const params = visibleParameters(c, this.onlyDiff.checked);
    fill(
      this.paramsNode,
      params.length
        ? h(
            'table',
            { className: 'jp-nbprod-table jp-nbprod-compareTable jp-nbprod-paramTable' },
            head,
            h(
              'tbody',
              {},
              params.map(p =>
                h(
                  'tr',
                  { 'data-parameter': p.name, 'data-differs': String(p.differs) },
                  h('th', { scope: 'row' }, p.name),
                  p.values.map((_, i) =>
                    h(
                      'td',
                      {
                        'data-source': p.sources[i],
                        title: p.sources[i] === 'default' ? 'the default of the parameters cell' : p.sources[i] === 'unknown' ? 'unknown: the output notebook is gone' : 'given to the run'
                      },
                      p.sources[i] === 'unknown' ? '?' : p.texts[i]
                    )
                  )
                )
              )
            )
          )
        : h('p', { className: 'jp-nbprod-empty' }, this.onlyDiff.checked ? 'The runs have the same parameters.' : 'The runs have no parameters.')
    );
    fill(
      this.metricsNode,
      c.metrics.length
        ? h(
            'table',
            { className: 'jp-nbprod-table jp-nbprod-compareTable jp-nbprod-metricTable' },
            head.cloneNode(true),
            h(
              'tbody',
              {},
              c.metrics.map(m =>
                h(
                  'tr',
                  { 'data-metric': m.name },
                  h('th', { scope: 'row', title: m.goal === 'max' ? 'higher is better' : 'lower is better' }, `${m.name} ${m.goal === 'max' ? '↑' : '↓'}`),
                  m.values.map((v, i) =>
                    h(
                      'td',
                      { className: i === m.best && c.runs.length > 1 ? 'jp-nbprod-best' : '' },
                      v === null ? '' : formatValue(v),
                      i === m.best && c.runs.length > 1 ? ' ★' : ''
                    )
                  )
                )
              )
            )
          )
        : h('p', { className: 'jp-nbprod-empty' }, 'No run recorded a metric (nbprod.record(name, value) in the notebook).')
    );
    // open a run's output from its column header
    for (const th of this.node.querySelectorAll<HTMLElement>('th[data-run-id]')) {
      const run = c.runs.find(r => r.id === th.dataset.runId);
      if (run?.output_file) {
        th.classList.add('jp-nbprod-link');
        th.onclick = () => openFile(this.ctx, run.output_file!);
        th.title = `${run.id}: open its output notebook`;
      }
    }
  }

  private renderCharts(): void {
    for (const chart of this.charts) {
      chart.destroy();
    }
    this.charts = [];
    const c = this.comparison;
    if (!c) {
      return;
    }
    const text = cssVar('--jp-ui-font-color1', '#333');
    const grid = cssVar('--jp-border-color2', '#ddd');
    const axis = { ticks: { color: text }, grid: { color: grid } };
    const metric = this.metricSelect.value;

    const sc = scatter(c, metric, this.xSelect.value, this.colourSelect.value || null);
    this.scatterCanvas.dataset.points = String(sc.series.reduce((n, s) => n + s.points.length, 0));
    this.scatterCanvas.dataset.series = String(sc.series.length);
    this.charts.push(
      new Chart(this.scatterCanvas, {
        type: 'scatter',
        data: {
          datasets: sc.series.map((s, i) => ({
            label: s.label,
            data: s.points.map(p => ({ x: p.x, y: p.y })),
            borderColor: PALETTE[i % PALETTE.length],
            backgroundColor: PALETTE[i % PALETTE.length],
            pointRadius: 5
          }))
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: {
            x: {
              ...axis,
              title: { display: true, text: this.xSelect.value, color: text },
              ticks: {
                color: text,
                ...(sc.categories ? { stepSize: 1, callback: (v: string | number) => sc.categories![Number(v)] ?? '' } : {})
              }
            },
            y: { ...axis, title: { display: true, text: metric, color: text } }
          },
          plugins: {
            legend: { labels: { color: text } },
            tooltip: {
              callbacks: {
                label: item => {
                  const p = sc.series[item.datasetIndex].points[item.dataIndex];
                  return `${p.run}: ${this.xSelect.value} = ${p.xText}, ${metric} = ${formatValue(p.y)}`;
                }
              }
            }
          }
        }
      })
    );

    const m = c.metrics.find(x => x.name === metric);
    this.charts.push(
      new Chart(this.runAxisCanvas, {
        type: 'line',
        data: {
          labels: c.runs.map(runLabel),
          datasets: [{ label: metric || 'no metrics', data: m ? m.values : [], borderColor: PALETTE[0], backgroundColor: PALETTE[0], pointRadius: 4, spanGaps: true }]
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          scales: { x: { ...axis, title: { display: true, text: 'run', color: text } }, y: axis },
          plugins: { legend: { labels: { color: text } } }
        }
      })
    );

    const axes = parallelAxes(c, visibleParameters(c, this.onlyDiff.checked));
    this.parallelCanvas.dataset.axes = String(axes.length);
    this.charts.push(
      new Chart(this.parallelCanvas, {
        type: 'line',
        data: {
          labels: axes.map(a => `${a.name}${a.kind === 'metric' ? ' (metric)' : ''}`),
          datasets: c.runs.map((run, r) => ({
            label: runLabel(run, r),
            data: axes.map(a => a.positions[r]),
            borderColor: PALETTE[r % PALETTE.length],
            backgroundColor: PALETTE[r % PALETTE.length],
            pointRadius: 3,
            tension: 0
          }))
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          // room above and below the axes for their end values (under them: the lowest), so no line runs along an edge
          layout: { padding: { top: 16, bottom: 4, left: 8, right: 8 } },
          scales: {
            x: { ticks: { color: text }, grid: { color: text } },
            y: { min: -0.14, max: 1.04, ticks: { display: false }, grid: { display: false } }
          },
          plugins: {
            legend: { position: 'bottom', labels: { color: text } },
            tooltip: {
              callbacks: {
                label: item => `${item.dataset.label}: ${axes[item.dataIndex].name} = ${axes[item.dataIndex].texts[item.datasetIndex]}`
              }
            }
          }
        },
        plugins: [axisEnds(axes, text)]
      })
    );
  }

  private comparison: Comparison | null = null;
  private sequence = 0;
  private charts: Chart[] = [];
  private titleNode: HTMLElement;
  private onlyDiff: HTMLInputElement;
  private statusNode: HTMLElement;
  private paramsNode: HTMLElement;
  private metricsNode: HTMLElement;
  private metricSelect: HTMLSelectElement;
  private xSelect: HTMLSelectElement;
  private colourSelect: HTMLSelectElement;
  private scatterCanvas: HTMLCanvasElement;
  private parallelCanvas: HTMLCanvasElement;
  private runAxisCanvas: HTMLCanvasElement;
}

import { isNumeric, parallelAxes, scatter, sortRuns, visibleParameters } from '../src/compare';
import { parseComparison, parseRun } from '../src/parse';

const run = (id: string, extra: Record<string, unknown> = {}) =>
  ({ id, notebook: 'notebooks/02_train.ipynb', status: 'succeeded', terminal: true, parameters: {}, metrics: {}, ...extra });

// the shape nbprod/run/compare.py sends (GET runs/compare)
const comparison = parseComparison({
  runs: [run('r-1'), run('r-2'), run('r-3'), run('r-4')],
  parameters: [
    { name: 'C', values: [0.1, 0.1, 1.0, 1.0], texts: ['0.1', '0.1', '1.0', '1.0'], sources: ['given', 'given', 'given', 'given'], differs: true },
    { name: 'seed', values: [0, 1, 0, 1], texts: ['0', '1', '0', '1'], sources: ['given', 'given', 'given', 'given'], differs: true },
    { name: 'solver', values: ['lbfgs', 'lbfgs', 'saga', null], texts: ['lbfgs', 'lbfgs', 'saga', ''], sources: ['default', 'default', 'given', 'unknown'], differs: true },
    { name: 'n_rows', values: [600, 600, 600, 600], texts: ['600', '600', '600', '600'], sources: ['default', 'default', 'default', 'default'], differs: false }
  ],
  metrics: [
    { name: 'auc', values: [0.8, 0.82, 0.9, null], goal: 'max', best: 2, differs: true },
    { name: 'log_loss', values: [0.5, 0.45, 0.3, 0.31], goal: 'min', best: 2, differs: true }
  ]
});

describe('compare view logic', () => {
  it('parses the comparison with texts that keep 1.0', () => {
    expect(comparison.parameters[0].texts[2]).toBe('1.0');
    expect(comparison.parameters[2].values[3]).toBeUndefined();
    expect(comparison.metrics[1]).toMatchObject({ goal: 'min', best: 2 });
  });

  it('only differences hides the parameters that are the same in every run', () => {
    expect(visibleParameters(comparison, false).map(p => p.name)).toEqual(['C', 'seed', 'solver', 'n_rows']);
    expect(visibleParameters(comparison, true).map(p => p.name)).toEqual(['C', 'seed', 'solver']);
  });

  it('tells numeric parameters from categories (unknown values ignored)', () => {
    expect(isNumeric(comparison.parameters[0])).toBe(true);
    expect(isNumeric(comparison.parameters[2])).toBe(false);
  });

  it('scatters a metric against a parameter, one series per value of another', () => {
    const chart = scatter(comparison, 'auc', 'C', 'seed');
    expect(chart.categories).toBeNull();
    expect(chart.series.map(s => s.label)).toEqual(['seed = 0', 'seed = 1']);
    // r-4 has no auc: left out, not plotted at 0
    expect(chart.series.flatMap(s => s.points.map(p => p.run)).sort()).toEqual(['r-1', 'r-2', 'r-3']);
    expect(chart.series[0].points).toEqual([
      { x: 0.1, y: 0.8, run: 'r-1', xText: '0.1' },
      { x: 1, y: 0.9, run: 'r-3', xText: '1.0' }
    ]);
  });

  it('puts a non-numeric parameter on a category axis', () => {
    const chart = scatter(comparison, 'log_loss', 'solver', null);
    expect(chart.categories).toEqual(['lbfgs', 'saga']);
    expect(chart.series).toHaveLength(1);
    expect(chart.series[0].points.map(p => [p.x, p.run])).toEqual([
      [0, 'r-1'],
      [0, 'r-2'],
      [1, 'r-3']
    ]);
    expect(scatter(comparison, 'nope', 'C', null).series).toEqual([]);
  });

  it('scales the parallel coordinates per axis', () => {
    const axes = parallelAxes(comparison, visibleParameters(comparison, true));
    expect(axes.map(a => [a.name, a.kind])).toEqual([
      ['C', 'parameter'],
      ['seed', 'parameter'],
      ['solver', 'parameter'],
      ['auc', 'metric'],
      ['log_loss', 'metric']
    ]);
    expect(axes[0].positions).toEqual([0, 0, 1, 1]);
    expect(axes[2].positions).toEqual([0, 0, 1, null]);
    const auc = axes[3].positions;
    expect(auc[0]).toBe(0);
    expect(auc[2]).toBe(1);
    expect(auc[1]).toBeCloseTo(0.2);
    expect(auc[3]).toBeNull();
    // the ends are labelled as the tables write the values (1.0 stays 1.0)
    expect([axes[0].low, axes[0].high]).toEqual(['0.1', '1.0']);
    expect([axes[2].low, axes[2].high]).toEqual(['lbfgs', 'saga']);
  });

  it('sorts the history by a metric or a parameter, runs without it last', () => {
    const runs = [
      parseRun(run('a', { metrics: { auc: 0.7 }, parameters: { C: 1 } })),
      parseRun(run('b', { metrics: {}, parameters: { C: 0.1 } })),
      parseRun(run('c', { metrics: { auc: 0.9 }, parameters: {} })),
      parseRun(run('d', { metrics: { auc: 0.8 }, parameters: { C: 10 } }))
    ];
    expect(sortRuns(runs, { kind: 'metric', name: 'auc' }, true).map(r => r.id)).toEqual(['c', 'd', 'a', 'b']);
    expect(sortRuns(runs, { kind: 'metric', name: 'auc' }, false).map(r => r.id)).toEqual(['a', 'd', 'c', 'b']);
    expect(sortRuns(runs, { kind: 'parameter', name: 'C' }, false).map(r => r.id)).toEqual(['b', 'a', 'd', 'c']);
    expect(sortRuns(runs, { kind: 'run' }, true).map(r => r.id)).toEqual(['d', 'c', 'b', 'a']);
  });
});

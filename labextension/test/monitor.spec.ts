import { alertsByRun, alertText, checkLabel, formatStatistic, orderedChecks, verdict } from '../src/monitor';
import { parseAlerts, parseCheckSeries, parseMonitorList } from '../src/parse';

const REPLY = {
  notebooks: [
    {
      notebook: 'notebooks/03_score.ipynb',
      run: 'r2',
      baseline: 'r1',
      baseline_source: 'first',
      ok: false,
      state: { state: 'alert', since: '2024-01-01T00:00:00+00:00', failing: ['drift:input:tenure'] },
      checks: [
        { kind: 'drift', key: 'drift:input', profile: 'input', column: null, metric: null, method: 'share', statistic: 0.25, threshold: 0.5, ok: true, alert: true, detail: '1 of 4' },
        { kind: 'drift', key: 'drift:input:calls', profile: 'input', column: 'calls', metric: null, method: 'ks', statistic: 0.001, threshold: 0.05, ok: false, alert: false, detail: '' },
        { kind: 'metric', key: 'metric:auc:min', profile: null, column: null, metric: 'auc', method: 'min', statistic: 0.7, threshold: 0.75, ok: false, alert: true, detail: '' }
      ]
    }
  ]
};

test('monitor reports parse, and checks read alerts first', () => {
  const [report] = parseMonitorList(REPLY);
  expect(report.state.state).toBe('alert');
  expect(report.checks.map(verdict)).toEqual(['ok', 'drift', 'fail']);
  expect(orderedChecks(report.checks).map(checkLabel)).toEqual(['auc (min)', 'input.calls', 'input (all columns)']);
  expect(formatStatistic(0.0012345)).toBe('0.001234');
  expect(formatStatistic(null)).toBe('');
});

test('a lenient parse of series and alerts', () => {
  const series = parseCheckSeries({ series: [{ run: 'r1', statistic: 'x', ok: false }], distribution: { kind: 'numeric', edges: [0, 1], baseline: [1], current: [1] } });
  expect(series.series[0]).toMatchObject({ run: 'r1', statistic: null, ok: false });
  expect(series.distribution?.edges).toEqual([0, 1]);
  const alerts = parseAlerts({
    alerts: [
      { id: 1, run: 'r2', event: 'fired', message: 'a failed' },
      { id: 2, run: 'r2', event: 'fired', message: 'b failed' },
      { id: 3, run: 'r3', event: 'resolved', message: 'a passes' }
    ]
  });
  expect([...alertsByRun(alerts)]).toEqual([['r2', ['a failed', 'b failed']]]);
  expect(alertText(alerts.slice(0, 2))).toBe('nbprod alert: a failed (and 1 more)');
});

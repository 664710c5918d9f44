import {
  batchProgress,
  chartPoints,
  encodePath,
  exportSummary,
  findingWhere,
  formatDuration,
  formatLocation,
  metricNames,
  parameterValue,
  previewFiles,
  problemFindings
} from '../src/format';
import {
  jobGateReport,
  parseBatchReply,
  parseError,
  parseExport,
  parseGateReport,
  parseGitStatus,
  parseJob,
  parsePlan,
  parsePushResult,
  parseRunList,
  parseRunReply
} from '../src/parse';

describe('paths and errors', () => {
  it('encodes each segment and keeps the slashes', () => {
    expect(encodePath('notebooks/02 train#1.ipynb')).toBe('notebooks/02%20train%231.ipynb');
    expect(encodePath('/a//b?.ipynb')).toBe('a/b%3F.ipynb');
    expect(encodePath('données/é.ipynb')).toBe('donn%C3%A9es/%C3%A9.ipynb');
  });

  it('reads the error body with location and hint', () => {
    const body = {
      error: {
        type: 'hand_edited',
        message: 'src/churn/features.py was edited by hand',
        location: { path: 'src/churn/features.py', cell: null, cell_id: null, line: 3 },
        hint: 'export with force to overwrite',
        files: ['src/churn/features.py']
      }
    };
    const error = parseError(body, 409);
    expect(error.type).toBe('hand_edited');
    expect(error.message).toBe('src/churn/features.py was edited by hand');
    expect(error.hint).toBe('export with force to overwrite');
    expect(error.files).toEqual(['src/churn/features.py']);
    expect(formatLocation(error.location)).toBe('src/churn/features.py, line 3');
    // cells are zero-based in the API, shown from 1 like JupyterLab's status bar
    expect(formatLocation({ path: 'nb.ipynb', cell: 0, cell_id: 'a', line: 2 })).toBe('nb.ipynb, cell 1, line 2');
  });

  it('never gives an empty message', () => {
    expect(parseError({ message: 'Forbidden', reason: null }, 403).message).toBe('Forbidden');
    expect(parseError('<html>boom</html>', 500).message).toBe('the server answered 500');
    expect(parseError('plain words', 502).message).toBe('plain words');
    expect(parseError(null, 404).message).toBe('the server answered 404');
  });
});

describe('plan and export', () => {
  const plan = parsePlan({
    notebook: 'notebooks/01_features.ipynb',
    module: 'churn.features',
    cells: [{ index: 3, cell_id: 'c448408a', role: 'export', module: 'churn.features' }],
    files: [
      { path: 'tests/test_features.py', kind: 'tests', content: 'def test_x(): pass\n' },
      { path: 'src/churn/__init__.py', kind: 'package', content: '' },
      { path: 'src/churn/features.py', kind: 'module', content: 'X = 1\n' }
    ],
    problems: [
      {
        severity: 'error',
        message: '`customers` is used here but defined only in cell 4, which is not exported',
        location: { path: 'notebooks/01_features.ipynb', cell: 11, cell_id: '2e357321', line: 1 },
        hint: 'tag cell 4 `export`'
      }
    ],
    ok: false
  });

  it('parses cells, files and problems', () => {
    expect(plan.module).toBe('churn.features');
    expect(plan.cells[0].cell_id).toBe('c448408a');
    expect(plan.problems[0].location?.cell_id).toBe('2e357321');
    expect(plan.problems[0].location?.cell).toBe(11);
    expect(plan.ok).toBe(false);
  });

  it('orders the preview: module, tests, package', () => {
    expect(previewFiles(plan).map(f => f.kind)).toEqual(['module', 'tests', 'package']);
  });

  it('derives ok from the problems when missing', () => {
    expect(parsePlan({ problems: [{ severity: 'warning', message: 'm' }] }).ok).toBe(true);
    expect(parsePlan({ problems: [{ severity: 'error', message: 'm' }] }).ok).toBe(false);
    expect(parsePlan({ problems: [{ severity: 'weird', message: 'm' }] }).problems[0].severity).toBe('note');
  });

  it('summarises an export', () => {
    const result = parseExport({
      ok: true,
      check: false,
      notebooks: [
        {
          notebook: 'notebooks/01_features.ipynb',
          module: 'churn.features',
          files: [
            { path: 'src/churn/features.py', kind: 'module', status: 'written' },
            { path: 'src/churn/__init__.py', kind: 'package', status: 'unchanged' },
            { path: 'tests/test_features.py', kind: 'tests', status: 'written' }
          ],
          problems: []
        }
      ],
      errors: []
    });
    expect(result.files).toHaveLength(3);
    expect(exportSummary(result)).toBe('2 written, 1 unchanged');
    expect(exportSummary(parseExport({}))).toBe('nothing to export');
  });
});

const RUN = {
  id: 'r-20261126-1',
  batch_id: null,
  notebook: 'notebooks/02_train.ipynb',
  parameters: { n_rows: 300 },
  status: 'succeeded',
  created_at: '2026-11-26T13:00:00+00:00',
  started_at: '2026-11-26T13:00:01+00:00',
  finished_at: '2026-11-26T13:00:05+00:00',
  duration: 4.2,
  output_path: '/tmp/x/runs/r-20261126-1.ipynb',
  output_file: 'runs/r-20261126-1.ipynb',
  error: null,
  git_commit: 'abc',
  git_dirty: false,
  kernel: 'python3',
  nbprod_version: '0.1.0',
  papermill_version: '2.6.0',
  metrics: { auc: 0.81, accuracy: 0.75, note: 'text' }
};

describe('runs and batches', () => {
  it('parses a run in its envelope or bare', () => {
    expect(parseRunReply({ run: RUN }).output_file).toBe('runs/r-20261126-1.ipynb');
    expect(parseRunReply(RUN).duration).toBe(4.2);
    expect(parseRunReply({ ...RUN, output_file: undefined }).output_file).toBe(RUN.output_path);
  });

  it("shows a float parameter as the server writes it, not as JavaScript's number", () => {
    // JSON.parse turns the server's 1.0 into 1
    const run = parseRunReply({ ...RUN, parameters: { C: 1.0, n: 3 }, parameter_text: { C: '1.0', n: '3' } });
    expect(run.parameters.C).toBe(1);
    expect(parameterValue(run, 'C')).toBe('1.0');
    expect(parameterValue(run, 'n')).toBe('3');
    // an older server without the texts: the value itself
    expect(parameterValue(parseRunReply({ ...RUN, parameters: { C: 0.5 } }), 'C')).toBe('0.5');
  });

  it('takes terminal from the server, never from a list of statuses', () => {
    expect(parseRunReply({ ...RUN, terminal: true }).terminal).toBe(true);
    expect(parseRunReply({ ...RUN, status: 'cancelled', terminal: true }).terminal).toBe(true);
    expect(parseRunReply({ ...RUN, status: 'succeeded' }).terminal).toBe(false);
  });

  it('parses a failed run', () => {
    const run = parseRunReply({
      ...RUN,
      status: 'failed',
      error: { cell: 7, cell_id: 'x', ename: 'ValueError', evalue: 'bad' }
    });
    expect(run.error).toEqual({ cell: 7, cell_id: 'x', ename: 'ValueError', evalue: 'bad' });
  });

  it('lists runs and their numeric metrics', () => {
    const list = parseRunList({ runs: [RUN, { ...RUN, id: 'r2', metrics: { f1: 0.5 } }], total: 10 });
    expect(list.total).toBe(10);
    expect(metricNames(list.runs)).toEqual(['accuracy', 'auc', 'f1']);
    expect(parseRunList({}).runs).toEqual([]);
  });

  it('computes batch progress', () => {
    const reply = parseBatchReply({
      batch: {
        id: 'b-1',
        notebook: 'notebooks/02_train.ipynb',
        status: 'running',
        executor: 'local',
        jobs: 2,
        output_dir: 'runs/b-1',
        counts: { queued: 1, running: 1, succeeded: 1, failed: 1, cancelled: 0 },
        total: 4
      },
      runs: [RUN]
    });
    const progress = batchProgress(reply.batch);
    expect(progress).toMatchObject({ done: 0.25, failed: 0.25, running: 0.25, finished: false });
    expect(progress.label).toBe('2/4 done · 1 failed · 1 running');
    const finished = parseBatchReply({
      batch: { ...reply.batch, status: 'succeeded', terminal: true, counts: { succeeded: 4 }, total: 4 },
      runs: []
    });
    expect(batchProgress(finished.batch)).toMatchObject({ done: 1, finished: true, label: '4/4 done' });
  });

  it('counts runs when the batch has no counts', () => {
    const reply = parseBatchReply({
      batch: { id: 'b-2', status: 'running' },
      runs: [RUN, { ...RUN, status: 'running' }]
    });
    expect(reply.batch.counts.succeeded).toBe(1);
    expect(reply.batch.counts.running).toBe(1);
    expect(reply.batch.total).toBe(2);
  });

  it('charts a metric over the runs that have it, oldest first', () => {
    const runs = [
      parseRunReply({ ...RUN, id: 'b', created_at: '2026-11-26T13:05:00+00:00', metrics: { auc: 0.7 } }),
      parseRunReply({ ...RUN, id: 'a', created_at: '2026-11-26T13:01:00+00:00', metrics: { auc: 0.9 } }),
      parseRunReply({ ...RUN, id: 'c', created_at: '2026-11-26T13:09:00+00:00', metrics: { auc: 'n/a' } })
    ];
    const points = chartPoints(runs, 'auc');
    expect(points.map(p => [p.run.id, p.value])).toEqual([
      ['a', 0.9],
      ['b', 0.7]
    ]);
    // a run axis: runs of one batch often start in the same second
    expect(points.map(p => p.label)).toEqual(['#1 a', '#2 b']);
    expect(chartPoints(runs, 'f1')).toEqual([]);
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('');
    expect(formatDuration(4.24)).toBe('4.2 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
  });
});

describe('gate and push jobs', () => {
  const report = {
    id: 'g-1',
    ok: false,
    root: '/tmp/p',
    started_at: '2026-11-26T13:00:00',
    duration: 3.1,
    git_commit: null,
    summary: 'failed (sync 2/2, lint 1/1, tests 3/4, smoke -)',
    steps: [
      { name: 'sync', status: 'passed', passed: 2, total: 2, duration: 0.2, summary: '', findings: [] },
      {
        name: 'tests',
        status: 'failed',
        passed: 3,
        total: 4,
        duration: 2.5,
        summary: '3 of 4 passed',
        findings: [
          {
            message: 'assert 1 == 2',
            path: 'tests/test_features.py',
            line: 12,
            col: null,
            cell: null,
            code: null,
            severity: 'error',
            name: 'tests/test_features.py::test_the_same_seed',
            outcome: 'failed',
            hint: null
          },
          {
            message: 'passed',
            path: 'tests/test_features.py',
            line: 3,
            col: null,
            cell: null,
            code: null,
            severity: 'info',
            name: 'tests/test_features.py::test_ok',
            outcome: 'passed',
            hint: null
          }
        ]
      },
      { name: 'smoke', status: 'skipped', findings: [] }
    ]
  };

  it('parses the gate report and keeps only the problems', () => {
    const gate = parseGateReport(report)!;
    expect(gate.ok).toBe(false);
    expect(gate.steps.map(s => s.status)).toEqual(['passed', 'failed', 'skipped']);
    const problems = problemFindings(gate.steps[1]);
    expect(problems).toHaveLength(1);
    expect(findingWhere(problems[0])).toBe('tests/test_features.py:12');
    expect(problems[0].name).toBe('tests/test_features.py::test_the_same_seed');
  });

  it('formats finding locations like the CLI', () => {
    const base = { message: '', path: null, line: null, col: null, cell: null, code: null, severity: 'error', name: null, outcome: null, hint: null };
    expect(findingWhere({ ...base, path: 'nb.ipynb', cell: 2, line: 3, col: 1 })).toBe('nb.ipynb:cell_2:3:1');
    expect(findingWhere({ ...base, name: 'test_x' })).toBe('test_x');
    expect(findingWhere(base)).toBe('');
  });

  it('derives ok from status or steps', () => {
    expect(parseGateReport({ status: 'passed', steps: [] })!.ok).toBe(true);
    expect(parseGateReport({ steps: [{ name: 'x', status: 'error' }] })!.ok).toBe(false);
    expect(parseGateReport(null)).toBeNull();
  });

  it('parses jobs and finds the gate report in their result', () => {
    const gateJob = parseJob({ job: { id: 'j1', kind: 'gate', status: 'failed', finished_at: '2026-11-26T13:00:09', steps: [{ name: 'sync', status: 'passed' }], result: report, error: null } });
    expect(gateJob.id).toBe('j1');
    expect(gateJob.terminal).toBe(true);
    expect(jobGateReport(gateJob)?.steps).toHaveLength(3);

    const pushJob = parseJob({ id: 'j2', kind: 'push', status: 'running', steps: [], result: { gate: report, pushed: false }, error: 'the gate failed' });
    expect(pushJob.terminal).toBe(false);
    expect(jobGateReport(pushJob)?.ok).toBe(false);
    expect(pushJob.error?.message).toBe('the gate failed');
    expect(parseJob({ id: 'j3', error: { message: 'm', hint: 'h' } }).error?.hint).toBe('h');

    // a push the gate refused: the report comes with the error (GateFailedError.to_dict)
    const refused = parseJob({
      id: 'j4',
      kind: 'push',
      status: 'failed',
      result: null,
      error: { message: 'the quality gate failed (tests): nothing was committed or pushed', hint: 'fix the findings', location: null, report }
    });
    expect(refused.error?.message).toMatch(/nothing was committed/);
    expect(jobGateReport(refused)?.steps[1].status).toBe('failed');
  });

  it('parses push results and git status', () => {
    expect(parsePushResult({ pushed: true, commit: 'abcdef123456', remote: 'origin', branch: 'main' })).toMatchObject({
      pushed: true,
      commit: 'abcdef123456'
    });
    expect(parsePushResult({ ok: true }).pushed).toBe(true);
    expect(parsePushResult({ pushed: true, message: 'Fix seeds\n\nNbprod-Gate: passed' }).message).toBe('Fix seeds');
    expect(parseGitStatus({ branch: 'main', remote: 'origin', ahead: 1, behind: 0, changed: ['a', { path: 'b' }] })).toEqual({
      branch: 'main',
      remote: 'origin',
      ahead: 1,
      behind: 0,
      changed: ['a', 'b']
    });
  });
});

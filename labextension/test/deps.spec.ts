import { parseDepsAdded, parseDepsReport } from '../src/depswire';

// real replies on the churn example with numpy taken out of [project].dependencies:
// GET deps (check_dependencies) and POST deps (add_dependencies)
import added from './fixtures/deps_added.json';
import check from './fixtures/deps_check.json';

describe('parseDepsReport', () => {
  it('reads an undeclared import with its distribution, requirement and first site', () => {
    const report = parseDepsReport(check);
    expect(report.ok).toBe(false);
    expect(report.hasProject).toBe(true);
    expect(report.missing).toEqual([
      {
        name: 'numpy',
        distribution: 'numpy',
        requirement: check.missing[0].requirement,
        scope: 'runtime',
        notebook: 'notebooks/01_features.ipynb',
        cell: 2,
        path: 'src/churn/features.py',
        line: 13
      }
    ]);
    expect(report.missing[0].requirement).toMatch(/^numpy>=\d/);
    expect(report.unused).toEqual([]);
    expect(report.problems).toEqual([]);
  });

  it('is lenient: missing fields get defaults, odd ones are left out', () => {
    expect(parseDepsReport(null)).toEqual({ ok: false, hasProject: true, missing: [], unused: [], problems: [] });
    const odd = parseDepsReport({ ok: 'yes', has_project: false, unused: ['pandas', 3], missing: [{ name: 'yaml', sites: 'here' }] });
    expect(odd.ok).toBe(false);
    expect(odd.hasProject).toBe(false);
    expect(odd.unused).toEqual(['pandas']);
    expect(odd.missing[0]).toEqual({
      name: 'yaml',
      distribution: null,
      requirement: null,
      scope: 'runtime',
      notebook: null,
      cell: null,
      path: '',
      line: 0
    });
  });
});

describe('parseDepsAdded', () => {
  it('reads what was added and the report after it', () => {
    const result = parseDepsAdded(added);
    expect(result.added).toEqual([added.added[0]]);
    expect(result.added[0]).toMatch(/^numpy>=/);
    expect(result.addedTests).toEqual([]);
    expect(result.createdProject).toBe(false);
    expect(result.report.ok).toBe(true);
    expect(result.report.missing).toEqual([]);
  });
});

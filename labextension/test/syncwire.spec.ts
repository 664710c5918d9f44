import { parseSync } from '../src/syncwire';

// real replies of `nbprod sync --json` on the churn example (the server's JSON)
import check from './fixtures/sync_check.json';
import conflict from './fixtures/sync_conflict.json';

describe('parseSync', () => {
  it('reads the cells a sync would change, with their diffs', () => {
    const result = parseSync(check);
    expect(result.check).toBe(true);
    expect(result.ok).toBe(false);
    const [nb] = result.notebooks;
    expect(nb.status).toBe('pending');
    expect(nb.changes).toHaveLength(1);
    const [change] = nb.changes;
    expect(change).toMatchObject({ index: 6, cell_id: 'd46bc492', action: 'update', file: 'src/churn/train.py', line: 26 });
    expect(change.first_line).toBe('def training_data(');
    expect(change.diff).toContain('+        StandardScaler(), LogisticRegression(C=C, max_iter=2000');
    expect(change.source).toContain('max_iter=2000');
    expect(nb.error).toBeNull();
  });

  it('reads a refusal: both sides of each conflict and the machine type', () => {
    const [nb] = parseSync(conflict).notebooks;
    expect(nb.status).toBe('conflict');
    expect(nb.changes).toEqual([]);
    expect(nb.error?.type).toBe('sync_conflict');
    const [one] = nb.conflicts;
    expect(one.cell_id).toBe('d46bc492');
    expect(one.module_diff).toContain('max_iter=2000');
    expect(one.notebook_diff).toContain('max_iter=500');
  });

  it('is lenient with missing fields', () => {
    expect(parseSync({})).toEqual({ ok: true, check: false, notebooks: [] });
    const [nb] = parseSync({ notebooks: [{ changes: [{}] }] }).notebooks;
    expect(nb.status).toBe('unchanged');
    expect(nb.changes[0]).toMatchObject({ index: 0, cell_id: null, action: 'update', line: null });
  });
});

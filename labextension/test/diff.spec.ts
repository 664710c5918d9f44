import { diffLines } from '../src/format';

// real diffs from the server: a sync check's cell diff (nbprod/export/sync.py)
// and the ship preview's notebook diff (nbprod/ship/preview.py, cells without outputs)
import check from './fixtures/sync_check.json';

// GET ship/preview's diff of 01_features after an edit of its cell 4 (preview._unified)
const SHIP =
  '--- a/notebooks/01_features.ipynb\n+++ b/notebooks/01_features.ipynb\n@@ -22,4 +22,6 @@\n \n # cell 4 (code) [export]\n' +
  '+RATE_OF_CHURN = 0.25\n+\n CONTRACT_TYPES = ["month-to-month", "one-year", "two-year"]\n ';

describe('diffLines', () => {
  it('marks the headers, the hunk and the added, removed and unchanged lines of a sync diff', () => {
    const lines = diffLines(check.notebooks[0].changes[0].diff);
    expect(lines.map(l => l.kind)).toEqual(['file', 'file', 'hunk', 'same', 'same', 'same', 'del', 'add', 'same', 'same', 'same']);
    expect(lines[0].text).toBe('--- notebooks/02_train.ipynb cell 7 (before)');
    expect(lines[7].text).toContain('max_iter=2000');
    // the trailing newline makes no empty last row
    expect(lines[lines.length - 1].text).toBe(' ');
  });

  it('reads the ship preview diff of a notebook, line for line', () => {
    const lines = diffLines(SHIP);
    expect(lines.map(l => l.kind)).toEqual(['file', 'file', 'hunk', 'same', 'same', 'add', 'add', 'same', 'same']);
    expect(lines.map(l => l.text).join('\n')).toBe(SHIP);
  });

  it('counts the hunk: removed "-- x" and added "++ y" lines are not file headers', () => {
    const diff = ['--- a/notes.md', '+++ b/notes.md', '@@ -1,2 +1,2 @@', '--- a rule', '+++ a title', ' end', '--- a/b.md', '+++ b/b.md', '@@ -1 +1 @@', '-x', '+y'].join('\n');
    expect(diffLines(diff).map(l => l.kind)).toEqual(['file', 'file', 'hunk', 'del', 'add', 'same', 'file', 'file', 'hunk', 'del', 'add']);
  });

  it('tells notes apart: git\'s missing newline and the server\'s cut', () => {
    const diff = ['@@ -1 +1 @@', '-a', '\\ No newline at end of file', '+b', '… 12 more lines'].join('\n');
    expect(diffLines(diff).map(l => l.kind)).toEqual(['hunk', 'del', 'note', 'add', 'note']);
  });

  it('gives nothing for no diff', () => {
    expect(diffLines('')).toEqual([]);
  });
});

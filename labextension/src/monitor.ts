/**
 * The Monitor's logic that needs no DOM (tested with jest): how checks are
 * named, judged and ordered, and how alert events become badges and messages.
 */
import { formatValue } from './format';
import { AlertEvent, MonitorCheck } from './wire';

/** A number for a table cell: 4 significant digits (format.ts's formatValue), blank for none. */
export function formatStatistic(value: number | null): string {
  return value === null ? '' : formatValue(value);
}

/** What a check is about, in a few words: `input.tenure`, `input (all columns)`, `auc`. */
export function checkLabel(check: MonitorCheck): string {
  if (check.kind === 'metric') {
    return `${check.metric ?? ''} (${check.method})`;
  }
  return check.column === null ? `${check.profile ?? ''} (all columns)` : `${check.profile}.${check.column}`;
}

/** The verdict of a check: `ok`, `fail` (an alert) or `drift` (a drifted column inside the share rule). */
export function verdict(check: MonitorCheck): 'ok' | 'fail' | 'drift' {
  return check.ok ? 'ok' : check.alert ? 'fail' : 'drift';
}

/** The checks in the order people read them: alerts, drifted columns, then the rest. */
export function orderedChecks(checks: MonitorCheck[]): MonitorCheck[] {
  const rank = { fail: 0, drift: 1, ok: 2 };
  return [...checks].sort((a, b) => rank[verdict(a)] - rank[verdict(b)]);
}

/** The notification's text for some new fired alerts. */
export function alertText(fired: AlertEvent[]): string {
  const first = fired[0];
  const more = fired.length > 1 ? ` (and ${fired.length - 1} more)` : '';
  return `nbprod alert: ${first.message}${more}`;
}

/** The messages of the alerts each run fired (for the History view's badges). */
export function alertsByRun(alerts: AlertEvent[]): Map<string, string[]> {
  const runs = new Map<string, string[]>();
  for (const alert of alerts) {
    if (alert.event === 'fired') {
      runs.set(alert.run, [...(runs.get(alert.run) ?? []), alert.message]);
    }
  }
  return runs;
}


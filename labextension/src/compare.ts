/**
 * The Compare view's logic, no DOM: which parameters to show, the scatter of
 * a metric against a parameter (one colour per value of another), the axes
 * of the parallel-coordinates chart, and sorting the History's runs by any
 * column. The comparison itself (effective values, best runs) comes from the
 * server (`nbprod/run/compare.py`).
 */
import { formatValue, shortId } from './format';
import { ComparedParameter, Comparison, RunRecord } from './wire';

/** The parameters shown: all, or only those whose values differ. */
export function visibleParameters(comparison: Comparison, onlyDifferences: boolean): ComparedParameter[] {
  return onlyDifferences ? comparison.parameters.filter(p => p.differs) : comparison.parameters;
}

/** True when every known value of the parameter is a number (a numeric axis). */
export function isNumeric(parameter: ComparedParameter): boolean {
  const known = parameter.values.filter((v, i) => parameter.sources[i] !== 'unknown');
  return known.length > 0 && known.every(v => typeof v === 'number');
}

export interface ScatterPoint {
  x: number;
  y: number;
  run: string;
  /** The x value as text (the category, or the number as written). */
  xText: string;
}

export interface ScatterSeries {
  /** The colour parameter's value (`C = 1.0`), or the metric's name without one. */
  label: string;
  points: ScatterPoint[];
}

export interface Scatter {
  series: ScatterSeries[];
  /** For a non-numeric x parameter: the category of each x position. */
  categories: string[] | null;
}

/**
 * A metric against a parameter, one series per value of `colour` (another
 * parameter, or none). Runs without a number for the metric are left out; a
 * non-numeric x parameter becomes categories at 0, 1, 2, ...
 */
export function scatter(comparison: Comparison, metric: string, xName: string, colour: string | null): Scatter {
  const m = comparison.metrics.find(item => item.name === metric);
  const x = comparison.parameters.find(p => p.name === xName);
  if (!m || !x) {
    return { series: [], categories: null };
  }
  const c = colour ? comparison.parameters.find(p => p.name === colour) ?? null : null;
  const numeric = isNumeric(x);
  const categories: string[] = [];
  const groups = new Map<string, ScatterPoint[]>();
  comparison.runs.forEach((run, i) => {
    const y = m.values[i];
    if (y === null || y === undefined || x.sources[i] === 'unknown') {
      return;
    }
    const xText = x.texts[i] ?? String(x.values[i]);
    let xValue: number;
    if (numeric) {
      xValue = x.values[i] as number;
    } else {
      if (!categories.includes(xText)) {
        categories.push(xText);
      }
      xValue = categories.indexOf(xText);
    }
    const key = c ? `${c.name} = ${c.texts[i] || '?'}` : m.name;
    if (!groups.has(key)) {
      groups.set(key, []);
    }
    groups.get(key)!.push({ x: xValue, y, run: run.id, xText });
  });
  const series = [...groups].map(([label, points]) => ({ label, points: points.sort((a, b) => a.x - b.x) }));
  return { series, categories: numeric ? null : categories };
}

export interface ParallelAxis {
  name: string;
  kind: 'parameter' | 'metric';
  /** Per run: the position on the axis from 0 (bottom) to 1 (top); null when unknown. */
  positions: (number | null)[];
  /** Per run: the value as text. */
  texts: string[];
  /** The labels at the bottom and the top of the axis. */
  low: string;
  high: string;
}

function scale(values: (number | null)[]): { positions: (number | null)[]; low: number; high: number } {
  const known = values.filter((v): v is number => v !== null);
  const low = Math.min(...known);
  const high = Math.max(...known);
  const span = high - low;
  return {
    positions: values.map(v => (v === null ? null : span === 0 ? 0.5 : (v - low) / span)),
    low,
    high
  };
}

/**
 * The axes of a parallel-coordinates chart: the given parameters, then every
 * metric; numbers scaled to [0, 1] per axis, other values spread evenly in
 * order of first appearance.
 */
export function parallelAxes(comparison: Comparison, parameters: ComparedParameter[]): ParallelAxis[] {
  const axes: ParallelAxis[] = [];
  for (const p of parameters) {
    const texts = p.texts.map((t, i) => (p.sources[i] === 'unknown' ? '' : t));
    if (isNumeric(p)) {
      const values = p.values.map((v, i) => (p.sources[i] === 'unknown' ? null : (v as number)));
      const s = scale(values);
      // a run's own text for the ends (1.0 stays 1.0, as in the tables)
      const text = (v: number) => texts[values.indexOf(v)] ?? formatValue(v);
      axes.push({ name: p.name, kind: 'parameter', positions: s.positions, texts, low: text(s.low), high: text(s.high) });
    } else {
      const categories = [...new Set(texts.filter(t => t !== ''))];
      const step = categories.length > 1 ? 1 / (categories.length - 1) : 0;
      axes.push({
        name: p.name,
        kind: 'parameter',
        positions: texts.map(t => (t === '' ? null : categories.length > 1 ? categories.indexOf(t) * step : 0.5)),
        texts,
        low: categories[0] ?? '',
        high: categories[categories.length - 1] ?? ''
      });
    }
  }
  for (const m of comparison.metrics) {
    const s = scale(m.values);
    axes.push({
      name: m.name,
      kind: 'metric',
      positions: s.positions,
      texts: m.values.map(v => (v === null ? '' : formatValue(v))),
      low: formatValue(s.low),
      high: formatValue(s.high)
    });
  }
  return axes;
}

/** A column of the History table to sort by. */
export type SortKey = { kind: 'run' | 'notebook' | 'status' | 'started' | 'time' } | { kind: 'parameter' | 'metric'; name: string };

function sortValue(run: RunRecord, key: SortKey): unknown {
  switch (key.kind) {
    case 'run':
      return run.id;
    case 'notebook':
      return run.notebook;
    case 'status':
      return run.status;
    case 'started':
      return run.created_at ?? '';
    case 'time':
      return run.duration;
    case 'parameter':
      return run.parameters[key.name];
    case 'metric':
      return run.metrics[key.name];
  }
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a - b;
  }
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/**
 * The runs sorted by a column; runs without a value for it go last in both
 * directions (a missing metric is not the best nor the worst).
 */
export function sortRuns(runs: RunRecord[], key: SortKey, descending: boolean): RunRecord[] {
  const missing = (v: unknown) => v === undefined || v === null || v === '';
  return [...runs].sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (missing(x) || missing(y)) {
      return Number(missing(x)) - Number(missing(y));
    }
    const order = compareValues(x, y);
    return descending ? -order : order;
  });
}

/** The label of a run on a run axis: its place and the end of its id. */
export function runLabel(run: RunRecord, index: number): string {
  return `#${index + 1} ${shortId(run.id)}`;
}

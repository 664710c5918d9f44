/**
 * Runs from the panel: one run with a changed parameter and its output
 * notebook; a small batch to the end; the run history with its chart.
 */
import { expect, test } from '@jupyterlab/galata';

import { exportViaApi, FEATURES, openNotebook, saveScreenshot, TRAIN } from './helpers';

test.use({ tmpPath: 'notebooks' });
test.describe.configure({ mode: 'serial' });

test.beforeEach(async ({ page }) => {
  // 02_train imports churn.features from the exported package
  await exportViaApi(page, FEATURES);
});

test('run with a changed parameter and open its output', async ({ page }) => {
  const panel = await openNotebook(page, TRAIN);
  const nRows = panel.locator('.jp-nbprod-runSection input[name="n_rows"]');
  await expect(nRows).toHaveValue('2000');
  await expect(panel.locator('.jp-nbprod-runSection input[name="C"]')).toHaveValue('1.0');
  await nRows.fill('300');
  await panel.locator('.jp-nbprod-runButton').click();

  const run = panel.locator('.jp-nbprod-runSection .jp-nbprod-run');
  await expect(run).toHaveAttribute('data-status', /queued|running|succeeded/);
  await expect(run).toHaveAttribute('data-status', 'succeeded', { timeout: 120000 });
  await expect(run.locator('.jp-nbprod-metrics')).toContainText('auc');

  await run.locator('.jp-nbprod-openOutput').click();
  const output = page.locator('.jp-NotebookPanel:visible');
  await expect(page.locator('.jp-mod-current.lm-TabBar-tab')).toContainText('.ipynb');
  // papermill's injected parameters cell holds the changed value
  await expect(output.locator('.jp-Cell', { hasText: 'n_rows = 300' }).first()).toBeVisible();
});

test('a server error is a readable notification, not raw JSON', async ({ page }) => {
  const panel = await openNotebook(page, TRAIN);
  const batch = panel.locator('.jp-nbprod-batchSection');
  await expect(batch.locator('input.jp-nbprod-gridValues[name="C"]')).toBeVisible();
  await batch.locator('.jp-nbprod-modeTab', { hasText: 'YAML' }).click();
  await batch.locator('textarea.jp-nbprod-yaml').fill('alpha: [1, 2]');
  await expect(batch.locator('.jp-nbprod-count')).toHaveText('2 runs');
  await batch.locator('.jp-nbprod-batchButton').click();
  // the server refuses the unknown parameter; the toast has its message and hint
  const toast = page.locator('.Toastify__toast', { hasText: 'Batch failed to start' });
  await expect(toast).toBeVisible();
  await expect(toast).toContainText("unknown parameter 'alpha'");
  await expect(toast).not.toContainText('{');
});

test('a small batch runs to the end and the history lists it', async ({ page }, testInfo) => {
  const panel = await openNotebook(page, TRAIN);
  const batch = panel.locator('.jp-nbprod-batchSection');
  await batch.locator('input.jp-nbprod-gridValues[name="n_rows"]').fill('300');
  await batch.locator('input.jp-nbprod-gridValues[name="C"]').fill('0.1, 1.0');
  await expect(batch.locator('.jp-nbprod-count')).toHaveText('2 runs');
  await batch.locator('.jp-nbprod-batchButton').click();

  const progress = batch.locator('.jp-nbprod-progress');
  await expect(progress).toBeVisible();
  await expect(progress).toHaveAttribute('data-finished', 'true', { timeout: 180000 });
  await expect(batch.locator('.jp-nbprod-progressText')).toHaveText('2/2 done');
  await expect(batch.locator('.jp-nbprod-batchTable tbody tr[data-status="succeeded"]')).toHaveCount(2);
  await expect(batch.locator('.jp-nbprod-batchTable thead')).toContainText('auc');

  await panel.locator('.jp-nbprod-historyButton').click();
  const history = page.locator('.jp-nbprod-history');
  await expect(history).toBeVisible();
  // the single run of the previous test and the two of the batch
  await expect(history.locator('.jp-nbprod-runsTable tbody tr[data-status="succeeded"]')).toHaveCount(3);
  await expect(history.locator('.jp-nbprod-batchId')).toHaveCount(2);
  await history.locator('.jp-nbprod-metricSelect').selectOption('auc');
  await expect(history.locator('canvas.jp-nbprod-chartCanvas')).toHaveAttribute('data-points', '3');

  // filter by status: no failed runs
  await history.locator('.jp-nbprod-filterStatus').selectOption('failed');
  await expect(history.locator('.jp-nbprod-empty')).toBeVisible();
  await history.locator('.jp-nbprod-filterStatus').selectOption('');
  await expect(history.locator('.jp-nbprod-runsTable tbody tr')).toHaveCount(3);
  // a batch id filters the history to that batch
  await history.locator('.jp-nbprod-batchId').first().click();
  await expect(history.locator('.jp-nbprod-runsTable tbody tr')).toHaveCount(2);
  await history.locator('.jp-nbprod-filterBatch').fill('');
  await history.locator('.jp-nbprod-refresh').click();
  await expect(history.locator('.jp-nbprod-runsTable tbody tr')).toHaveCount(3);
  await expect(history.locator('.jp-nbprod-metricSelect')).toHaveValue('auc');
  // the history gets the whole width for its picture
  await page.sidebar.close('left');
  await page.sidebar.close('right');
  await saveScreenshot(page.locator('.jp-MainAreaWidget:has(.jp-nbprod-history)'), testInfo, 'history.png');

  // a run opens its output notebook
  await history.locator('.jp-nbprod-runsTable tbody tr').first().locator('.jp-nbprod-openOutput').click();
  await expect(page.locator('.jp-mod-current.lm-TabBar-tab')).toContainText('.ipynb');
});

test('a running batch can be cancelled', async ({ page }) => {
  const panel = await openNotebook(page, TRAIN);
  const batch = panel.locator('.jp-nbprod-batchSection');
  await batch.locator('input.jp-nbprod-gridValues[name="n_rows"]').fill('300');
  await batch.locator('input.jp-nbprod-gridValues[name="seed"]').fill('0, 1, 2, 3, 4, 5');
  await batch.locator('input.jp-nbprod-jobs').fill('1');
  await expect(batch.locator('.jp-nbprod-count')).toHaveText('6 runs');
  await batch.locator('.jp-nbprod-batchButton').click();

  const cancel = batch.locator('.jp-nbprod-cancelButton');
  await expect(cancel).toBeVisible();
  await expect(batch.locator('.jp-nbprod-batchTable tbody tr[data-status="running"]')).toHaveCount(1, { timeout: 60000 });
  await cancel.click();
  await expect(batch.locator('.jp-nbprod-progress')).toHaveAttribute('data-finished', 'true', { timeout: 90000 });
  await expect(batch.locator('.jp-nbprod-progressLabel .jp-nbprod-badge')).toHaveText('cancelled');
  await expect(batch.locator('.jp-nbprod-progressText')).toContainText('cancelled');
  await expect(cancel).toBeHidden();
  // not every run ran
  expect(await batch.locator('.jp-nbprod-batchTable tbody tr[data-status="succeeded"]').count()).toBeLessThan(6);
});

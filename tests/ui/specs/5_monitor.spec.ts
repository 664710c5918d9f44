/**
 * Monitoring in JupyterLab: a scoring run with drifted customers ends with an
 * alert notification; its button opens the Monitor view with the drifted
 * column, its distributions and its statistic across runs; the History view
 * shows the alert on the run.
 */
import { expect, test } from '@jupyterlab/galata';

import { exportViaApi, FEATURES, openNotebook, saveScreenshot, TRAIN } from './helpers';

const SCORE = 'notebooks/03_score.ipynb';
const SMALL = { n_customers: 600, train_rows: 600 };

test.use({ tmpPath: 'notebooks' });

test('a drifted run notifies, and the Monitor view shows the drifted column', async ({ page }, testInfo) => {
  test.setTimeout(300000);
  // 03_score imports churn.features and churn.train from the exported package
  await exportViaApi(page, FEATURES);
  await exportViaApi(page, TRAIN);
  // the baseline: the notebook's first run, like the training data
  const started = await page.request.post('/nbprod/api/runs', {
    data: { notebook: SCORE, parameters: { ...SMALL, seed: 1 } }
  });
  expect(started.ok(), await started.text()).toBeTruthy();
  const baseline = (await started.json()).run.id as string;
  await expect
    .poll(async () => (await (await page.request.get(`/nbprod/api/runs/${baseline}`)).json()).status, { timeout: 150000 })
    .toBe('succeeded');

  // the drifted batch, run from the panel
  const panel = await openNotebook(page, SCORE);
  const form = panel.locator('.jp-nbprod-runSection');
  await expect(form.locator('input[name="drift"]')).toHaveValue('0.0');
  await form.locator('input[name="n_customers"]').fill('600');
  await form.locator('input[name="train_rows"]').fill('600');
  await form.locator('input[name="seed"]').fill('2');
  await form.locator('input[name="drift"]').fill('1.0');
  await panel.locator('.jp-nbprod-runButton').click();
  const run = form.locator('.jp-nbprod-run');
  await expect(run).toHaveAttribute('data-status', 'succeeded', { timeout: 150000 });

  const toast = page.locator('.Toastify__toast', { hasText: 'nbprod alert' });
  await expect(toast).toBeVisible();
  await expect(toast).toContainText('03_score.ipynb');
  await toast.getByRole('button', { name: 'Open Monitor' }).click();

  const monitor = page.locator('.jp-nbprod-monitor');
  await expect(monitor).toBeVisible();
  await expect(monitor.locator('.jp-nbprod-monitorNotebook[data-notebook="notebooks/03_score.ipynb"]')).toHaveAttribute('data-state', 'alert');
  await expect(monitor.locator('.jp-nbprod-driftedColumns')).toContainText('input.tenure_months');
  const row = monitor.locator('tr[data-key="drift:input:tenure_months"]');
  await expect(row).toHaveAttribute('data-verdict', 'fail');
  await row.click();
  await expect(row).toHaveClass(/jp-mod-selected/);
  await expect(monitor.locator('.jp-nbprod-monitorChartsTitle')).toContainText('input.tenure_months');
  await expect(monitor.locator('.jp-nbprod-distributionFigure')).toBeVisible();
  await expect(monitor.locator('canvas.jp-nbprod-distributionCanvas')).toBeVisible();
  await expect(monitor.locator('canvas.jp-nbprod-seriesCanvas')).toBeVisible();
  // a metric check shows its values across runs instead
  await monitor.locator('tr[data-key="metric:churn_rate:max"]').click();
  await expect(monitor.locator('.jp-nbprod-distributionFigure')).toBeHidden();
  await row.click();
  await expect(monitor.locator('.jp-nbprod-distributionFigure')).toBeVisible();

  await page.sidebar.close('left');
  await page.sidebar.close('right');
  const view = page.locator('.jp-MainAreaWidget:has(.jp-nbprod-monitor)');
  await saveScreenshot(view, testInfo, 'monitor.png');
  await page.theme.setDarkTheme();
  await expect(monitor.locator('canvas.jp-nbprod-distributionCanvas')).toBeVisible();
  await saveScreenshot(view, testInfo, 'monitor-dark.png');
  await page.theme.setLightTheme();

  // the History view: an alert badge on the drifted run, and "use as baseline"
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('nbprod:open-history'));
  const history = page.locator('.jp-nbprod-history');
  await expect(history).toBeVisible();
  const drifted = history.locator('.jp-nbprod-runsTable tbody tr').first();
  await expect(drifted.locator('.jp-nbprod-alertBadge')).toBeVisible();
  await expect(history.locator(`tr[data-run-id="${baseline}"] .jp-nbprod-alertBadge`)).toHaveCount(0);
  await expect(drifted.locator('.jp-nbprod-useBaseline')).toBeVisible();
});

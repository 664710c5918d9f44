/**
 * The ipywidgets front door in a real JupyterLab: a notebook shows RunForm for the
 * example's 02_train, a changed n_rows runs to the end with its metrics, and
 * History lists that run.
 */
import { expect, test } from '@jupyterlab/galata';

import { exportViaApi, FEATURES, saveScreenshot } from './helpers';

test.use({ tmpPath: 'notebooks' });

const DRIVER = 'notebooks/widgets_demo.ipynb';

function driverNotebook(): string {
  const cell = (source: string) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: {},
    outputs: [],
    source
  });
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      cell("from nbprod.widgets import History, RunForm\nform = RunForm('02_train.ipynb')\nform"),
      // the three newest runs of 02_train: other specs ran it on this server too
      cell("History(notebook='02_train.ipynb', page_size=3)")
    ]
  });
}

test('RunForm runs 02_train with a changed n_rows and History lists it', async ({ page }, testInfo) => {
  // 02_train imports churn.features from the exported package
  await exportViaApi(page, FEATURES);
  await page.contents.uploadContent(driverNotebook(), 'text', DRIVER);
  await page.notebook.openByPath(DRIVER);
  await page.notebook.activate('widgets_demo.ipynb');
  await page.notebook.runCell(0);

  const form = page.locator('.jp-OutputArea-output .widget-vbox').first();
  const nRows = form.locator('.widget-inline-hbox', { hasText: 'n_rows' }).locator('input').first();
  await expect(nRows).toHaveValue('2000');
  await nRows.fill('300');
  await nRows.press('Enter');
  await form.locator('button', { hasText: 'Run' }).first().click();

  await expect(form).toContainText('1/1 done', { timeout: 120000 });
  await expect(form).toContainText('the run succeeded');
  await expect(form.locator('table')).toContainText('auc=');
  await expect(form.locator('table')).toContainText('n_rows=300');

  // a batch of two from the batch-values fields
  const batchValues = (name: string) =>
    form.locator('.widget-hbox', { has: page.locator(`label:text-is("${name}")`) }).locator('input').nth(1);
  await batchValues('C').fill('0.1, 1.0');
  await batchValues('C').press('Enter');
  await expect(form).toContainText('2 runs');
  await form.locator('button', { hasText: 'Run batch' }).click();
  await expect(form).toContainText('2/2 done', { timeout: 180000 });
  await expect(form).toContainText('all runs succeeded');
  await expect(form.locator('table tr')).toHaveCount(3);
  await saveScreenshot(form, testInfo, 'widgets.png');

  await page.notebook.runCell(1);
  const history = page.locator('.jp-Cell').nth(1).locator('.jp-OutputArea-output table');
  await expect(history).toContainText('succeeded');
  await expect(history).toContainText('n_rows=300');
  await expect(history.locator('tbody tr')).toHaveCount(3);
});

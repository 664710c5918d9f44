/**
 * Cell roles, the export preview, problems and export, on a fresh copy of
 * examples/churn served by a real Jupyter server.
 */
import { expect, galata, test } from '@jupyterlab/galata';

import { FEATURES, openNotebook, previewText, saveScreenshot, setRoleFromMenu, showPreview } from './helpers';

// the project is the server root; start the file browser in its notebooks folder
test.use({ tmpPath: 'notebooks' });
test.describe.configure({ mode: 'serial' });

test('the example notebook shows its roles and its module in the panel', async ({ page }, testInfo) => {
  const panel = await openNotebook(page, FEATURES);
  await expect(panel.locator('.jp-nbprod-module')).toContainText('churn.features');
  await expect(panel.locator('.jp-nbprod-tests')).toHaveText('tests/test_features.py');
  await expect(panel.locator('.jp-nbprod-noProblems')).toBeVisible();
  // the tagged cells are decorated: 2 export, 5 test
  await expect(page.locator('.jp-Cell[data-nbprod-role="export"]')).toHaveCount(2);
  await expect(page.locator('.jp-Cell[data-nbprod-role="test"]')).toHaveCount(5);
  await expect.poll(() => previewText(panel)).toContain('def make_customers(');
  await saveScreenshot(panel, testInfo, 'panel.png');
});

test('tagging a new cell export from the context menu changes the preview', async ({ page }) => {
  const panel = await openNotebook(page, FEATURES);
  await expect.poll(() => previewText(panel)).toContain('def add_features(');
  expect(await previewText(panel)).not.toContain('def churn_rate(');

  // a new cell after "customers" (index 3: make_customers)
  await page.notebook.selectCells(3);
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');
  await page.keyboard.press('Enter');
  await page.keyboard.type('def churn_rate(df):\n    return float(df["churned"].mean())', { delay: 5 });
  await page.keyboard.press('Escape');
  await setRoleFromMenu(page, 4, /^Export/);

  await expect(page.locator('.jp-Cell[data-nbprod-role="export"]')).toHaveCount(3);
  await expect(panel.locator('.jp-nbprod-previewStatus')).toContainText('unsaved changes');
  await expect.poll(() => previewText(panel)).toContain('def churn_rate(df):');

  // the tag is in the metadata papermill and nbdev read
  const tags = await page.evaluate(() => {
    const app = (window as any).jupyterapp;
    const nb = app.shell.currentWidget.content;
    return nb.widgets[4].model.getMetadata('tags');
  });
  expect(tags).toEqual(['export']);
  await page.notebook.revertChanges();
});

test('a hidden-state problem: click goes to its cell, the role shortcut fixes it', async ({ page }) => {
  const panel = await openNotebook(page, FEATURES);
  await expect(panel.locator('.jp-nbprod-noProblems')).toBeVisible();
  // cell 11 uses `customers`, defined in a cell that is not exported
  await page.notebook.selectCells(11);
  await page.keyboard.press('Escape');
  await page.keyboard.press('t');
  await page.keyboard.press('e');
  await expect((await page.notebook.getCellLocator(11))!).toHaveAttribute('data-nbprod-role', 'export');

  const problem = panel.locator('.jp-nbprod-problem', { hasText: '`customers`' });
  await expect(problem).toBeVisible();
  await expect(problem).toHaveAttribute('data-severity', 'error');
  await expect(panel.locator('.jp-nbprod-previewTabs')).toContainText('Fix the errors');

  // go elsewhere, then click the problem: its cell becomes the active one
  await page.notebook.selectCells(0);
  await problem.click();
  await expect(page.locator('.jp-Notebook .jp-Cell.jp-mod-active')).toContainText('features = add_features(customers)');

  // the fix: the cell is exploration, not module code (T N: role none)
  await page.keyboard.press('t');
  await page.keyboard.press('n');
  await expect((await page.notebook.getCellLocator(11))!).not.toHaveAttribute('data-nbprod-role', /.+/);
  await expect(panel.locator('.jp-nbprod-noProblems')).toBeVisible();
  await expect(problem).toHaveCount(0);
  await page.notebook.revertChanges();
});

test('export writes the module and tests, and the files appear in the file browser', async ({ page }) => {
  const panel = await openNotebook(page, FEATURES);
  await expect(panel.locator('.jp-nbprod-noProblems')).toBeVisible();
  await panel.locator('.jp-nbprod-exportButton').click();
  const exported = panel.locator('.jp-nbprod-exported');
  await expect(exported.locator('li[data-status="written"]', { hasText: 'src/churn/features.py' })).toBeVisible();
  await expect(exported).toContainText('tests/test_features.py');

  await page.filebrowser.openDirectory('src/churn');
  await expect(page.locator('.jp-DirListing-item[title*="features.py"], .jp-DirListing-itemText', { hasText: 'features.py' }).first()).toBeVisible();

  // a second export changes nothing
  await panel.locator('.jp-nbprod-exportButton').click();
  await expect(exported.locator('li[data-status="unchanged"]', { hasText: 'src/churn/features.py' })).toBeVisible();
  await showPreview(panel, 'test_features.py');
  await expect.poll(() => previewText(panel)).toContain('def test_');
});

test('export refuses files edited by hand; Force Export overwrites them after a confirm', async ({ page }) => {
  const panel = await openNotebook(page, FEATURES);
  // edit the generated module by hand, through Jupyter's contents API
  const url = '/api/contents/src/churn/features.py';
  const current = await (await page.request.get(`${url}?content=1&format=text&type=file`)).json();
  const edited = `${current.content}\n# a hand edit\n`;
  const put = await page.request.put(url, { data: { type: 'file', format: 'text', content: edited } });
  expect(put.ok()).toBeTruthy();

  await panel.locator('.jp-nbprod-exportButton').click();
  const refused = panel.locator('.jp-nbprod-refused');
  await expect(refused).toContainText('Refused');
  await expect(refused).toContainText('src/churn/features.py');

  await refused.locator('.jp-nbprod-forceButton').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Overwrite files edited by hand?');
  await dialog.locator('button', { hasText: 'Force Export' }).click();
  await expect(panel.locator('.jp-nbprod-exported li[data-status="written"]', { hasText: 'src/churn/features.py' })).toBeVisible();
  const after = await (await page.request.get(`${url}?content=1&format=text&type=file`)).json();
  expect(after.content).not.toContain('# a hand edit');
});

test.describe('with "Export on save" on in the settings', () => {
  test.use({ mockSettings: { ...galata.DEFAULT_SETTINGS, 'nbprod:plugin': { exportOnSave: true } } });

  test('saving the notebook exports it', async ({ page }) => {
    const panel = await openNotebook(page, FEATURES);
    const url = '/api/contents/src/churn/features.py?content=1&format=text&type=file';
    await page.notebook.selectCells(3);
    await page.keyboard.press('Escape');
    await page.keyboard.press('b');
    await page.keyboard.press('Enter');
    await page.keyboard.type('def churn_share(df):\n    return float(df["churned"].mean())', { delay: 5 });
    await page.keyboard.press('Escape');
    await page.keyboard.press('t');
    await page.keyboard.press('e');
    await page.notebook.save();
    await expect(panel.locator('.jp-nbprod-exported li[data-status="written"]', { hasText: 'src/churn/features.py' })).toBeVisible();
    expect((await (await page.request.get(url)).json()).content).toContain('def churn_share(df):');

    // put the notebook back as it was: the cell goes, the save exports again
    await page.notebook.selectCells(4);
    await page.notebook.deleteCells();
    await page.notebook.save();
    await expect.poll(async () => (await (await page.request.get(url)).json()).content).not.toContain('churn_share');
  });
});

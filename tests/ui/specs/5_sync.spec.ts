/**
 * Pull edits into notebook: a hand edit of the generated module, made in
 * JupyterLab's own editor, goes back into its cell (`nbprod sync`).
 */
import { expect, test } from '@jupyterlab/galata';

import { FEATURES, openNotebook, saveScreenshot } from './helpers';

test.use({ tmpPath: 'notebooks' });
test.describe.configure({ mode: 'serial' });

const MODULE = 'src/churn/features.py';

/** The source of a cell of the open notebook, as its model holds it. */
async function cellSource(page: any, index: number): Promise<string> {
  return page.evaluate((i: number) => {
    const nb = (window as any).jupyterapp.shell.currentWidget.content;
    return nb.widgets[i].model.sharedModel.getSource();
  }, index);
}

test('a hand edit in the module editor is refused by export, then pulled into its cell', async ({ page }, testInfo) => {
  // a clean export to start from, whatever the earlier specs left
  const exported = await page.request.post(`/nbprod/api/notebooks/${FEATURES}/export`, { data: { force: true } });
  expect(exported.ok()).toBeTruthy();

  // edit the module in JupyterLab's file editor: a new function after the last one
  await page.evaluate(async (path: string) => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', { path, factory: 'Editor' });
  }, MODULE);
  const editor = page.locator('.jp-FileEditor .cm-content');
  await expect(editor).toContainText('def add_features(');
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await page.keyboard.type('def churn_rate(df: pd.DataFrame) -> float:', { delay: 5 });
  await page.keyboard.press('Enter');
  // the editor indents the body itself
  await page.keyboard.type('return float(df[TARGET_COLUMN].mean())', { delay: 5 });
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+s');
  await expect(page.locator('.jp-mod-current .jp-mod-dirty')).toHaveCount(0);

  // back in the notebook: export refuses the hand-edited file and offers the pull
  const panel = await openNotebook(page, FEATURES);
  await expect(panel.locator('.jp-nbprod-noProblems')).toBeVisible();
  await panel.locator('.jp-nbprod-exportButton').click();
  const refused = panel.locator('.jp-nbprod-refused');
  await expect(refused).toContainText(MODULE);
  await expect(refused.locator('.jp-nbprod-pullButton')).toHaveText('Pull edits into notebook');
  await expect(refused.locator('.jp-nbprod-forceButton')).toBeVisible();
  await saveScreenshot(panel, testInfo, 'sync-refused.png');

  // unsaved changes in the notebook: refused with a message to save first
  await page.notebook.setCell(5, 'code', 'customers.describe()  # unsaved');
  await refused.locator('.jp-nbprod-pullButton').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Save the notebook first');
  await dialog.locator('button', { hasText: 'Ok' }).click();
  await page.notebook.revertChanges();
  expect(await cellSource(page, 5)).toBe('customers.describe()');

  // the pull shows the cell that will change, with its diff, before writing
  await refused.locator('.jp-nbprod-pullButton').click();
  await expect(dialog).toContainText('Pull edits into notebook?');
  const change = dialog.locator('.jp-nbprod-syncCell');
  await expect(change).toHaveCount(1);
  await expect(change).toHaveAttribute('data-cell-id', 'df131251');
  await expect(change.locator('h3')).toContainText('Cell 11 · df131251 · FEATURE_COLUMNS = [');
  await expect(change.locator('.jp-nbprod-diffLine[data-kind="add"]', { hasText: 'def churn_rate(' })).toBeVisible();
  const content = dialog.locator('.jp-Dialog-content');
  await saveScreenshot(content, testInfo, 'sync-dialog.png');
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' }));
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'false');
  await saveScreenshot(content, testInfo, 'sync-dialog-dark.png');
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' }));
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-light', 'true');
  await dialog.locator('button', { hasText: 'Pull Edits' }).click();

  // the open notebook reloads from disk: the cell now holds the new function
  await expect.poll(() => cellSource(page, 10)).toContain('def churn_rate(df: pd.DataFrame) -> float:');
  expect(await cellSource(page, 10)).toContain('    return float(df[TARGET_COLUMN].mean())');
  expect(await cellSource(page, 10)).toMatch(/^FEATURE_COLUMNS = \[/);
  await expect(refused).toHaveCount(0);
  await page.notebook.selectCells(10);
  // show the end of the cell, where the new function is
  const cell = await page.notebook.getCellLocator(10);
  await cell!.evaluate((node: HTMLElement) => node.scrollIntoView({ block: 'end' }));
  await expect(cell!.locator('.cm-line', { hasText: 'def churn_rate(' })).toBeVisible();
  await saveScreenshot(page.locator('.jp-NotebookPanel').first(), testInfo, 'sync-pulled.png');

  // and export agrees with the file now: nothing stale, nothing refused
  await panel.locator('.jp-nbprod-exportButton').click();
  await expect(panel.locator('.jp-nbprod-exported li', { hasText: MODULE })).toBeVisible();
  await expect(refused).toHaveCount(0);
});

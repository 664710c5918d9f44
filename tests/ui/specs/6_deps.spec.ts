/**
 * Dependencies: with an import the pyproject does not declare, the Ship
 * section names it (the cell it came from, the distribution) and Add
 * dependencies writes it into pyproject.toml.
 */
import { expect, test } from '@jupyterlab/galata';

import { FEATURES, openNotebook, saveScreenshot } from './helpers';

test.use({ tmpPath: 'notebooks' });

const PYPROJECT = '/api/contents/pyproject.toml';

async function readPyproject(page: any): Promise<string> {
  const response = await page.request.get(`${PYPROJECT}?content=1&type=file&format=text`);
  expect(response.ok()).toBeTruthy();
  return (await response.json()).content as string;
}

async function writePyproject(page: any, content: string): Promise<void> {
  const response = await page.request.put(PYPROJECT, { data: { type: 'file', format: 'text', content } });
  expect(response.ok(), await response.text()).toBeTruthy();
}

test('an undeclared import is shown and Add dependencies declares it', async ({ page }, testInfo) => {
  test.setTimeout(180000);
  const original = await readPyproject(page);
  expect(original).toContain('"numpy>=1.24",');
  await writePyproject(page, original.replace('    "numpy>=1.24",\n', ''));
  try {
    const panel = await openNotebook(page, FEATURES);
    const ship = panel.locator('.jp-nbprod-shipSection');
    const note = ship.locator('.jp-nbprod-depsNote');
    await expect(note).toContainText('1 import is not declared in pyproject.toml', { timeout: 60000 });
    await expect(note.locator('li[data-distribution="numpy"]')).toContainText('imported in notebooks/01_features.ipynb, cell 2');
    await expect(note.locator('.jp-nbprod-hint')).toContainText('adds numpy>=');
    await saveScreenshot(ship, testInfo, 'ship-deps.png');
    await page.theme.setDarkTheme();
    await saveScreenshot(ship, testInfo, 'ship-deps-dark.png');
    await page.theme.setLightTheme();

    await note.locator('.jp-nbprod-addDepsButton').click();

    await expect(ship.locator('.jp-nbprod-depsNote')).toHaveCount(0, { timeout: 30000 });
    const text = await readPyproject(page);
    expect(text).toMatch(/ {4}"scikit-learn>=1\.3",\n {4}"numpy>=[0-9.]+",\n\]/);
    // the comment above the list is kept
    expect(text).toContain('# exactly what the exported modules import');
  } finally {
    await writePyproject(page, original);
  }
});

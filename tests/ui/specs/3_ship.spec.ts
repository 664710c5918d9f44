/**
 * Ship: Check & Push to the local bare remote. A failing test refuses the
 * push and shows the failure; once fixed, the commit reaches the remote.
 */
import { expect, test } from '@jupyterlab/galata';

import { confirmFilterIfAsked, FEATURES, openNotebook, remoteLog } from './helpers';

test.use({ tmpPath: 'notebooks' });
test.describe.configure({ mode: 'serial' });

const NEW_CELL = 19; // after the last cell of 01_features
const MESSAGE = 'Test the size of the customer table';
const TEST = '# five customers make five rows\nassert len(make_customers(5, seed=2)) == ';

test('a failing test refuses the push and shows the failure', async ({ page }) => {
  test.setTimeout(240000);
  const before = remoteLog();
  const panel = await openNotebook(page, FEATURES);
  const ship = panel.locator('.jp-nbprod-shipSection');
  await expect(ship.locator('.jp-nbprod-gitStatus')).toContainText('main → origin');

  // a new test cell with a wrong expectation, tagged from the keyboard (T T)
  await page.notebook.selectCells(NEW_CELL - 1);
  await page.keyboard.press('Escape');
  await page.keyboard.press('b');
  await page.keyboard.press('Enter');
  await page.keyboard.type(`${TEST}6`, { delay: 5 });
  await page.keyboard.press('Escape');
  await page.keyboard.press('t');
  await page.keyboard.press('t');
  await expect((await page.notebook.getCellLocator(NEW_CELL))!).toHaveAttribute('data-nbprod-role', 'test');
  await page.notebook.save();

  await ship.locator('.jp-nbprod-commitMessage').fill(MESSAGE);
  await ship.locator('.jp-nbprod-pushButton').click();
  // the first push sets up output stripping: the panel says so and asks
  await confirmFilterIfAsked(page, true);
  await expect(ship.locator('.jp-nbprod-steps li').first()).toBeVisible();
  const verdict = ship.locator('.jp-nbprod-verdict');
  await expect(verdict).toHaveAttribute('data-ok', 'false', { timeout: 180000 });
  await expect(verdict).toContainText('Nothing was pushed');
  await expect(ship.locator('.jp-nbprod-steps li[data-step="tests"]')).toHaveAttribute('data-status', 'failed');
  // the failure reads like pytest's: file:line, the test's name, the assertion
  const finding = ship.locator('.jp-nbprod-failure[data-step="tests"] .jp-nbprod-finding').first();
  await expect(finding.locator('.jp-nbprod-where')).toHaveText(/^tests\/test_features\.py:\d+$/);
  await expect(finding.locator('.jp-nbprod-testName')).toContainText('test_five_customers_make_five_rows');
  await expect(finding.locator('.jp-nbprod-findingMessage')).toContainText('5 == 6');
  expect(remoteLog()).toEqual(before);
});

test('with the test fixed, Check & Push commits and pushes', async ({ page }) => {
  test.setTimeout(240000);
  const before = remoteLog();
  const panel = await openNotebook(page, FEATURES);
  const ship = panel.locator('.jp-nbprod-shipSection');
  await page.notebook.setCell(NEW_CELL, 'code', `${TEST}5`);
  await page.notebook.save();

  await ship.locator('.jp-nbprod-commitMessage').fill(MESSAGE);
  await ship.locator('.jp-nbprod-pushButton').click();
  // the refused push set nothing up: it asks again
  await confirmFilterIfAsked(page, true);
  const verdict = ship.locator('.jp-nbprod-verdict');
  await expect(verdict).toBeVisible({ timeout: 180000 });
  // commit and push were live steps of the job
  await expect(ship.locator('.jp-nbprod-steps li[data-step="commit"]')).toHaveAttribute('data-status', 'passed');
  await expect(ship.locator('.jp-nbprod-steps li[data-step="push"]')).toHaveAttribute('data-status', 'passed');
  // on failure, say what the panel shows (which step, which findings)
  expect(await verdict.getAttribute('data-ok'), await ship.innerText()).toBe('true');
  await expect(verdict).toContainText('Pushed');
  await expect(ship.locator('.jp-nbprod-failure')).toHaveCount(0);
  await expect(ship.locator('.jp-nbprod-steps li[data-status="failed"]')).toHaveCount(0);
  expect(remoteLog()[0]).toBe(MESSAGE);
  expect(remoteLog()).toHaveLength(before.length + 1);
});

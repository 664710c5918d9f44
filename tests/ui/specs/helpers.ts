/** Helpers shared by the browser tests. */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const PANEL_ID = 'nbprod-production-panel';
export const FEATURES = 'notebooks/01_features.ipynb';
export const TRAIN = 'notebooks/02_train.ipynb';

/** The repository root (for docs/img). */
export const REPO = path.resolve(__dirname, '..', '..', '..');

/** Open a notebook of the example and wait for its cells and the panel. */
export async function openNotebook(page: IJupyterLabPageFixture, file: string): Promise<Locator> {
  await page.notebook.openByPath(file);
  await page.notebook.activate(path.basename(file));
  const panel = await openPanel(page);
  await expect(panel.locator('.jp-nbprod-notebook')).toHaveText(file);
  return panel;
}

/** Open the production panel from its tab in the right sidebar. */
export async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  const panel = page.locator(`#${PANEL_ID}`);
  if (!(await panel.isVisible())) {
    await page.locator(`.jp-SideBar [data-id="${PANEL_ID}"]`).click();
  }
  await expect(panel).toBeVisible();
  await page.sidebar.setWidth(440, 'right');
  return panel;
}

/** The text of the export preview (all of it, not only the lines CodeMirror rendered). */
export async function previewText(panel: Locator): Promise<string> {
  return panel.locator('.jp-nbprod-preview .cm-content').evaluate((node: any) => {
    const view = node.cmView?.view ?? node.cmView?.rootView?.view;
    return view ? view.state.doc.toString() : node.textContent ?? '';
  });
}

/** Show a preview tab (by file name) and return the locator of the tab. */
export async function showPreview(panel: Locator, name: string): Promise<void> {
  await panel.locator('.jp-nbprod-previewTab', { hasText: name }).click();
  await expect(panel.locator('.jp-nbprod-previewTab.jp-mod-current')).toHaveText(name);
}

/** Set a cell's role from its context menu (Production Role submenu). */
export async function setRoleFromMenu(
  page: IJupyterLabPageFixture,
  cellIndex: number,
  label: RegExp
): Promise<void> {
  const cell = await page.notebook.getCellLocator(cellIndex);
  await cell!.locator('.jp-InputArea-prompt').click();
  await cell!.locator('.jp-InputArea-prompt').click({ button: 'right' });
  await page.locator('.lm-Menu-itemLabel', { hasText: 'Production Role' }).hover();
  await page.locator('#jp-nbprod-role-menu .lm-Menu-itemLabel', { hasText: label }).click();
}

/**
 * Save a screenshot as a test artifact; with NBPROD_UI_UPDATE_DOCS=1 also copy it to
 * docs/img for the README (not on every run: the pictures would dirty the checkout).
 */
export async function saveScreenshot(
  target: Locator,
  testInfo: { outputPath(name: string): string; attach(name: string, options: { path: string; contentType: string }): Promise<void> },
  name: string
): Promise<void> {
  const file = testInfo.outputPath(name);
  await target.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
  if (!process.env.NBPROD_UI_UPDATE_DOCS) {
    return;
  }
  const docs = path.join(REPO, 'docs', 'img');
  fs.mkdirSync(docs, { recursive: true });
  fs.copyFileSync(file, path.join(docs, name));
}

/** The folder of this test run: `churn/` (the server root) and `remote.git`. */
export const UI_ROOT = process.env.NBPROD_UI_ROOT ?? '';

/** The subjects of the commits of the bare remote's main branch, newest first. */
export function remoteLog(): string[] {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { execFileSync } = require('child_process');
  const out: string = execFileSync('git', ['--git-dir', path.join(UI_ROOT, 'remote.git'), 'log', '--format=%s', 'main'], {
    encoding: 'utf-8'
  });
  return out.split('\n').filter(Boolean);
}

/** Export a notebook through the API (the run tests need the package exported). */
export async function exportViaApi(page: IJupyterLabPageFixture, notebook: string): Promise<void> {
  const response = await page.request.post(`/nbprod/api/notebooks/${notebook}/export`, { data: { force: false } });
  expect(response.ok(), await response.text()).toBeTruthy();
}

/** Answer the "Set up output stripping?" question of a first push (`expected`: it must come). */
export async function confirmFilterIfAsked(page: IJupyterLabPageFixture, expected: boolean): Promise<void> {
  const dialog = page.locator('.jp-Dialog', { hasText: 'Set up output stripping?' });
  if (expected) {
    await expect(dialog).toBeVisible();
  } else if (!(await dialog.isVisible())) {
    return;
  }
  await dialog.locator('button', { hasText: 'Set Up and Push' }).click();
}

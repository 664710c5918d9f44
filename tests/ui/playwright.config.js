/**
 * Browser tests of the nbprod JupyterLab extension: Galata (Playwright) on
 * Debian's Chromium, against a real `jupyter lab` serving a fresh copy of
 * examples/churn (see jupyter_server_test_config.py).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const repo = path.resolve(__dirname, '..', '..');
const venv = process.env.VENV ? path.resolve(repo, process.env.VENV) : path.join(repo, '.venv');
// a port of its own per test run (made once in the runner, inherited by the
// workers), so two checkouts can run their browser tests at the same time
if (!process.env.NBPROD_UI_PORT) {
  process.env.NBPROD_UI_PORT = String(20000 + Math.floor(Math.random() * 20000));
}
const port = process.env.NBPROD_UI_PORT;
// One folder per test run for the project copy and its bare remote, made once in
// the runner process (the workers inherit it) so the tests can read the remote.
if (!process.env.NBPROD_UI_ROOT) {
  process.env.NBPROD_UI_ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'nbprod-ui-'));
}

module.exports = {
  ...baseConfig,
  testDir: './specs',
  globalTeardown: './teardown.js',
  outputDir: './test-results',
  reporter: [['list'], ['html', { open: 'never', outputFolder: './playwright-report' }]],
  // two cores: one browser, one server, one worker; tests share the server's project
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120000,
  expect: { timeout: 30000 },
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    viewport: { width: 1400, height: 900 },
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--disable-sync',
        '--disable-background-networking',
        '--disable-component-update'
      ]
    }
  },
  webServer: {
    command: `"${path.join(venv, 'bin', 'jupyter')}" lab --config jupyter_server_test_config.py`,
    cwd: __dirname,
    url: `http://localhost:${port}/lab`,
    timeout: 120000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      ...process.env,
      NBPROD_UI_PORT: port,
      PATH: `${path.join(venv, 'bin')}${path.delimiter}${process.env.PATH}`
    }
  }
};

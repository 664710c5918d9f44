import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';

/**
 * The nbprod JupyterLab plugin. For now it only announces itself; the
 * production panel, cell roles and history view build on this entry point.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbprod:plugin',
  description: 'Take notebooks to production: export, run, ship.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    console.log('nbprod extension activated');
    document.body.dataset.nbprod = 'active';
  }
};

export default plugin;

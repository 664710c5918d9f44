/**
 * Alerts in JupyterLab: when a run or batch ends, new alert events of the
 * history become one notification, with a button opening the Monitor view.
 */
import { Notification } from '@jupyterlab/apputils';

import { NbprodContext } from './context';
import { alertText } from './monitor';
import { AlertEvent } from './wire';

/** Checks are stored just after a run is recorded finished (a worker may be slow to import scipy): look a few times. */
const LOOKS_MS = [500, 2000, 5000, 10000, 20000, 30000];

/**
 * Watch for new alerts after each run, starting from the ones already in the
 * history (those are not notified again).
 */
export function watchAlerts(ctx: NbprodContext, openMonitor: (notebook: string, key: string) => void): void {
  const seen = new Set<number>();
  let since: string | undefined;
  let ready: Promise<void> | null = null;

  const take = (alerts: AlertEvent[]): AlertEvent[] => {
    const fresh = alerts.filter(a => !seen.has(a.id));
    for (const alert of fresh) {
      seen.add(alert.id);
      since = alert.created_at ?? since;
    }
    return fresh;
  };
  const start = () => {
    ready ??= ctx.client
      .alerts()
      .then(alerts => void take(alerts))
      .catch(reason => console.warn('nbprod: cannot read the alerts', reason));
    return ready;
  };
  const look = async () => {
    await start();
    try {
      const fired = take(await ctx.client.alerts({ since })).filter(a => a.event === 'fired');
      if (fired.length) {
        const first = fired[0];
        Notification.warning(alertText(fired), {
          autoClose: false,
          actions: [
            {
              label: 'Open Monitor',
              caption: 'Show the failing checks and their charts',
              callback: () => openMonitor(first.notebook, first.key)
            }
          ]
        });
      }
    } catch (reason) {
      console.warn('nbprod: cannot read the alerts', reason);
    }
  };
  void start();
  ctx.runsChanged.connect(() => {
    for (const delay of LOOKS_MS) {
      setTimeout(() => void look(), delay);
    }
  });
}

// The firing alerts, polled for the graph page, which marks their nodes and edges.
import { useEffect, useState } from 'react';
import { fetchAlerts, type Alert } from '../api/alerts';
import { isAbort } from '../api/http';

const POLL_MS = 10_000;
const NONE: Alert[] = [];

/** Firing alerts, refreshed every few seconds; none when alerting cannot be read. */
export function useFiringAlerts(): Alert[] {
  const [alerts, setAlerts] = useState<Alert[]>(NONE);
  useEffect(() => {
    let controller = new AbortController();
    let timer = 0;
    const load = () => {
      controller = new AbortController();
      fetchAlerts('state=firing&limit=500', controller.signal)
        .then((found) => setAlerts(found.length ? found : NONE))
        .catch((err) => {
          if (!isAbort(err)) setAlerts(NONE);
        })
        .finally(() => {
          if (!controller.signal.aborted) timer = window.setTimeout(load, POLL_MS);
        });
    };
    load();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
  }, []);
  return alerts;
}

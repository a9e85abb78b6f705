// Metrics and logs of the live trust store, kept apart from its logic: they subscribe to the events of
// the store (./store.ts) and its reload scheduler (./reload-scheduler.ts), as undici's diagnostics sit
// on diagnostics_channel; the store imports neither the metrics registry nor the logger.
import { logger } from '../util/index.js';
import {
  trustCas,
  trustCrls,
  setEarliestCrlNextUpdate,
  trustReloadsTotal,
  trustLastGoodReload,
  trustProblems,
} from '../metrics/index.js';
import type { TrustStore } from './store.js';
import type { ReloadScheduler } from './reload-scheduler.js';

const log = logger('media_gateway::trust');

/** Publishes the store's state now (as loaded) and on every event from then on. */
export function observeTrust(store: TrustStore, scheduler?: ReloadScheduler): void {
  const directory = store.cfg.directory;
  const publishMetrics = (): void => {
    const snap = store.current().snapshot;
    trustProblems.reset();
    for (const p of store.problems()) trustProblems.inc({ code: p.code, severity: p.severity });
    trustCas.set(snap.cas.length);
    trustCrls.set(snap.crls.length);
    setEarliestCrlNextUpdate(snap.earliestNextUpdate);
  };
  const logProblems = (): void => {
    for (const p of store.problems())
      log[p.severity === 'error' ? 'error' : 'warn']({ code: p.code, file: p.file }, p.message);
  };
  const logReload = (msg: string): void => {
    const snap = store.current().snapshot;
    const problems = store.problems();
    const rejected = problems.filter((p) => p.severity === 'error').length;
    log.info(
      {
        directory,
        cas: snap.cas.length,
        crls: snap.crls.length,
        rejected,
        warnings: problems.length - rejected,
        earliestNextUpdate: snap.earliestNextUpdate?.toISOString() ?? 'none',
        digest: snap.digest.slice(0, 16),
      },
      msg,
    );
    logProblems();
  };
  const published = (msg: string): void => {
    trustReloadsTotal.inc({ result: 'success' });
    trustLastGoodReload.set(Date.now() / 1000);
    publishMetrics();
    logReload(msg);
  };

  published('trust store loaded');
  store.on('scan', (o) => {
    if (o.result === 'failure') {
      if (!o.repeated)
        log.error(
          { directory, error: o.error },
          'trust directory reload failed; keeping the last good trust snapshot',
        );
      trustReloadsTotal.inc({ result: 'failure' });
      return;
    }
    if (o.recovered) log.info({ directory }, 'trust directory readable again');
    if (o.result === 'success') return published('trust store reloaded');
    if (o.problemsChanged) logProblems();
    trustReloadsTotal.inc({ result: 'unchanged' });
    publishMetrics();
  });
  scheduler?.on('poll', (what) => {
    if (what === 'unchanged') publishMetrics(); // the seconds until the earliest nextUpdate move with time alone
  });
  scheduler?.on('tick', () => {
    log.warn({}, 'a CRL validity boundary passed; re-checking connections');
    publishMetrics();
  });
}

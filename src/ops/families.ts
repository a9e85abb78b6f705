// Which metric families a half exports, decided from its configuration alone (src/metrics/registry.ts
// explains why families that do not apply stay out of /metrics), plus media_gateway_build_info.
import type { ClientConfig, ServerConfig } from '../config/index.js';
import { buildInfo as buildInfoGauge, exportFamilies, type FamilyGroup } from '../metrics/index.js';
import { buildInfo } from './build-info.js';

export function serverFamilies(cfg: ServerConfig): FamilyGroup[] {
  const groups: FamilyGroup[] = ['common', 'server'];
  if (cfg.tls?.clientAuth) groups.push('tls', 'trust');
  if (cfg.auth?.basic || cfg.auth?.certificateIdentity) groups.push('auth');
  if (cfg.auth?.basic?.quarantine) groups.push('quarantine');
  return groups;
}

export function clientFamilies(cfg: ClientConfig): FamilyGroup[] {
  return cfg.spool ? ['common', 'client', 'spool'] : ['common', 'client'];
}

/** Switches on the families of this half and publishes build_info. */
export function exportHalfFamilies(groups: FamilyGroup[]): void {
  exportFamilies(groups);
  buildInfoGauge.set({ ...buildInfo() }, 1);
}

// What is running: the gateway's version and the Node.js and libzmq underneath it. Shown by `--version`,
// GET /version and the media_gateway_build_info metric.
import { version as libzmq } from 'zeromq';
import { packageVersion } from '../util/version.js';

export interface BuildInfo {
  version: string;
  node: string;
  libzmq: string;
}

export function buildInfo(): BuildInfo {
  return { version: packageVersion(), node: process.versions.node, libzmq };
}

// FPS statistics log lines of what a half forwards, in the format of savant_core's pipeline stats.
export { FpsStatistics } from './fps.js';

// Topic → lane assignment. Every message of a topic goes to the same lane, and a lane delivers in order,
// so per-source order holds while different sources proceed in parallel.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of the bytes (stable across runs and processes). */
export function fnv1a(bytes: Uint8Array): number {
  let hash = FNV_OFFSET;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash;
}

/** The lane (0 .. lanes-1) that carries `topic`. */
export function laneOf(topic: Uint8Array, lanes: number): number {
  return lanes <= 1 ? 0 : fnv1a(topic) % lanes;
}

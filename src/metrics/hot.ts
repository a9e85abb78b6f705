// Counting on the per-message path without prom-client's per-call cost (label hashing and validation on
// every inc): a hot path adds to a plain number in a slot bound once to fixed labels, and the counter's
// collect() hook, which prom-client runs at every scrape, moves the sums into the counter. A scrape
// therefore sees every increment made before it.
import type { Counter } from 'prom-client';

export interface HotSlot {
  add(value?: number): void;
}

interface Slot<T extends string> extends HotSlot {
  labels: Partial<Record<T, string | number>>;
  value: number;
}

const slotsByCounter = new WeakMap<object, Map<string, Slot<string>>>();

/** The slot of `counter` for `labels`; the same labels give the same slot. */
export function hotSlot<T extends string>(
  counter: Counter<T>,
  labels: Partial<Record<T, string | number>>,
): HotSlot {
  let slots = slotsByCounter.get(counter);
  if (!slots) {
    slots = new Map();
    slotsByCounter.set(counter, slots);
  }
  const key = JSON.stringify(labels);
  let slot = slots.get(key);
  if (!slot) {
    const created: Slot<string> = {
      labels,
      value: 0,
      add(value = 1) {
        created.value += value;
      },
    };
    slot = created;
    slots.set(key, slot);
  }
  return slot;
}

/**
 * The slots of `counter` that share the `fixed` labels and differ in `label`, looked up by that label's
 * value without building a labels object per call.
 */
export function hotSlotsBy<T extends string, L extends T>(
  counter: Counter<T>,
  fixed: Partial<Record<T, string>>,
  label: L,
): (value: string) => HotSlot {
  const byValue = new Map<string, HotSlot>();
  return (value) => {
    let slot = byValue.get(value);
    if (!slot) {
      slot = hotSlot(counter, { ...fixed, [label]: value } as Partial<Record<T, string>>);
      byValue.set(value, slot);
    }
    return slot;
  };
}

/** Moves the pending sums of `counter`'s slots into it; the counters' collect() hook. */
export function flushHot<T extends string>(counter: Counter<T>): void {
  const slots = slotsByCounter.get(counter);
  if (!slots) return;
  for (const slot of slots.values()) {
    if (slot.value === 0) continue;
    counter.inc(slot.labels as Partial<Record<T, string | number>>, slot.value);
    slot.value = 0;
  }
}

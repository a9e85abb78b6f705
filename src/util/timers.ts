// Timer arithmetic shared by every module that sleeps until a far instant (a CRL's nextUpdate, a
// certificate's end date): Node's setTimeout holds at most 2^31-1 ms (about 24.8 days) and fires at once
// for anything larger, so longer delays are capped and the timer re-armed when it fires.

/** The largest delay given to setTimeout (a little under 2^31-1 ms). */
export const MAX_TIMER_MS = 2_147_000_000;

// Timer arithmetic shared by every module that sleeps until a far instant (a CRL's nextUpdate, a
// certificate's end date): Node's setTimeout holds at most 2^31-1 ms (about 24.8 days) and fires at once
// for anything larger, so longer delays are capped and the timer re-armed when it fires.

/** Node's timers and ZeroMQ's int options stop here (~24.8 days): the bound of every configured duration. */
export const TIMER_LIMIT_MS = 2 ** 31 - 1;

/** The largest delay given to setTimeout when sleeping until an instant (a margin under TIMER_LIMIT_MS). */
export const MAX_TIMER_MS = 2_147_000_000;

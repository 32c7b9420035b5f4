// Where "now" comes from for parts whose behaviour depends on the time passing
// (Last-Modified of a deploy made live, lock expiry): Date.now in production;
// tests pass a clock they move forward instead of sleeping.

/** Milliseconds since the epoch, like Date.now. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

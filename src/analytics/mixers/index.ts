/**
 * Mixers: Tornado Cash pools read from raw logs by tornado-core's events (known pools only), and
 * the possible continuations of a deposit (the same pool's later withdrawals, with the published
 * linking heuristics as evidence). A pool stays an exit of the trace (docs/taint-models.md, "Mixers").
 */
export {
  CONTINUATION_DEFAULTS,
  HEURISTIC_WEIGHTS,
  possibleContinuations,
  type Candidate,
  type ContinuationOptions,
  type Continuations,
  type Evidence,
  type MixerActivity,
  type MixerHeuristic,
} from "./continuations.js";
export {
  MixerReader,
  TORNADO_TOPICS,
  type MixerDeposit,
  type MixerReaderOptions,
  type MixerReading,
  type MixerWithdrawal,
  type SkippedMixerLog,
} from "./reader.js";
export { KNOWN_MIXER_POOLS, NATIVE, type MixerPool, type NamedMixerPool } from "./registry.js";

/**
 * A feature (paid questions, tips, surveys…) is one module that exports its commands (with their
 * help), the deliveries it acts on beyond its commands, and the background work it needs. The app
 * only collects them (src/features/index.ts): the command registry, the inbox worker, the intake
 * filter and the sweeper all read FEATURES, so a new feature edits none of them.
 */
import type { Command } from "../commands/types.js";
import type { Apply, Deps } from "../deliveries/types.js";
import type { CardKind } from "../github/keyedCards.js";

/** A stored delivery, as a feature's handler sees it. */
export interface FeatureDelivery {
  id: string;
  event: string;
  action: string | null;
  payload: unknown;
}

/** Reads GitHub (only what it must: most deliveries are not for it), returns the effects to record, or null. */
export type FeatureHandler = (d: FeatureDelivery, deps: Deps) => Promise<Apply | null>;

export interface FeatureEvent {
  /** "event.action", e.g. "issue_comment.created", "discussion.answered". */
  on: string;
  handle: FeatureHandler;
  /**
   * The GitHub object the delivery acts on, so a body replayed under a fresh delivery id does
   * nothing (see core/webhooks.ts objectKey). Needed only for events the core does not key.
   */
  objectKey?: (payload: unknown) => string | null;
}

/** Work on an interval (expiries, refunds): idempotent, safe to run in several processes at once. */
export interface Sweep {
  name: string;
  everyMs: number;
  /** Returns how many things it changed, for the log. */
  run(deps: Deps, now: Date): Promise<number>;
}

export interface Feature {
  name: string;
  commands: Command[];
  events?: FeatureEvent[];
  sweeps?: Sweep[];
  /** The cards it shows (one comment each, edited in place), rendered by kind: `<kind>:<id>`. */
  cards?: CardKind[];
}

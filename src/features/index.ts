import { board } from "./board.js";
import { questions } from "./questions/index.js";
import { surveys } from "./surveys/index.js";
import { tips } from "./tips/index.js";
import type { Feature, FeatureEvent, Sweep } from "./types.js";

/** Every feature beyond bounties; the app collects their commands, events and sweeps from here. */
export const FEATURES: Feature[] = [tips, questions, surveys, board];

export const featureCommands = () => FEATURES.flatMap((f) => f.commands);

/** The handlers of one "event.action", in FEATURES order. */
export function featureEvents(event: string, action: string | null): FeatureEvent[] {
  const on = `${event}.${action ?? ""}`;
  return FEATURES.flatMap((f) => (f.events ?? []).filter((e) => e.on === on));
}

export const featureSweeps = (): Sweep[] => FEATURES.flatMap((f) => f.sweeps ?? []);

import { pino, type Logger } from "pino";
import type { Settings } from "./settings.js";

/**
 * The app's one logger: JSON lines with `name: "bounty-bot"` (what a log pipeline parses), or,
 * with LOG_FORMAT=pretty, pino-pretty's coloured lines for a person at a terminal.
 */
export function createLogger(settings: Pick<Settings, "logLevel" | "logFormat">): Logger {
  const options = { level: settings.logLevel, name: "bounty-bot" };
  if (settings.logFormat === "pretty") {
    return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:standard" } } });
  }
  return pino(options);
}

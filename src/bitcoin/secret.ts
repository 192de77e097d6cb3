import { inspect } from "node:util";

/**
 * Holds a secret string (the mnemonic) so that printing, logging, JSON or
 * util.inspect of anything that contains it shows "[redacted]". Only
 * reveal() gives the value back.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "Secret([redacted])";
  }
}

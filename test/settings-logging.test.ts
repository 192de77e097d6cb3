import { loadSettings } from "../src/settings.js";

describe("LOG_LEVEL, LOG_FORMAT, SHUTDOWN_TIMEOUT and METRICS_TOKEN", () => {
  test("defaults: info, json, 10 s, no token", () => {
    expect(loadSettings({})).toMatchObject({ logLevel: "info", logFormat: "json", shutdownTimeoutMs: 10_000, metricsToken: undefined });
  });

  test("set values are read", () => {
    expect(loadSettings({ LOG_LEVEL: "Debug", LOG_FORMAT: "pretty", SHUTDOWN_TIMEOUT: "25s", METRICS_TOKEN: " t0k " })).toMatchObject({
      logLevel: "debug",
      logFormat: "pretty",
      shutdownTimeoutMs: 25_000,
      metricsToken: "t0k",
    });
  });

  test("bad values are start errors, all listed at once", () => {
    const message = (() => {
      try {
        loadSettings({ LOG_LEVEL: "verbose", LOG_FORMAT: "text", SHUTDOWN_TIMEOUT: "soon" });
      } catch (err) {
        return (err as Error).message;
      }
      return "";
    })();
    expect(message).toContain('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, not "verbose"');
    expect(message).toContain('LOG_FORMAT must be json or pretty, not "text"');
    expect(message).toContain("SHUTDOWN_TIMEOUT:");
  });
});

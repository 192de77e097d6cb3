import { MIGRATIONS } from "../../src/store/migrations.js";

test("migrations are listed once each, in increasing version order (the order a fresh database applies them)", () => {
  const versions = MIGRATIONS.map((m) => m.version);
  expect(versions).toEqual([...versions].sort((a, b) => a - b));
  expect(new Set(versions).size).toBe(versions.length);
});

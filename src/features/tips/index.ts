import type { Feature } from "../types.js";
import { releaseTips } from "./release.js";
import { tip } from "./tip.js";

/** Tips: `/tip @user <amount> [reason]`, held for `tips.hold`, then released to the recipient's earnings. */
export const tips: Feature = {
  name: "tips",
  commands: [tip],
  sweeps: [releaseTips],
};

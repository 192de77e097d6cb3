/** The rewards API as the app mounts it: its routes, asking GitHub through the app's installations. */
import type { Probot } from "probot";
import { appGitHub } from "./github.js";
import { rewardsRoutes, type RewardsApiOptions } from "./rewards.js";
import type { Route } from "../http/router.js";

export function apiRoutes(o: Omit<RewardsApiOptions, "github"> & { probot: Probot }): Route[] {
  const { probot, ...rest } = o;
  return rewardsRoutes({ ...rest, github: appGitHub(probot, () => [...o.accounts()]) });
}

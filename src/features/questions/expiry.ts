import type { Sweep } from "../types.js";
import { dueQuestions } from "../../store/questions.js";
import { returnQuestion } from "./escrow.js";

/**
 * Questions past `questions.expires`: what was not earned goes back to whoever put it in, and the
 * card says so. One transaction per question; a second process finds it closed already.
 */
export const expireQuestions: Sweep = {
  name: "question expiry",
  everyMs: 60_000,
  async run(deps, now) {
    let changed = 0;
    for (const id of await dueQuestions(deps.db, now)) {
      const done = await deps.db.transaction((tx) =>
        returnQuestion(tx, id, { state: "expired", at: now, cause: { actor: { id: null, login: deps.appLogin }, deliveryId: null } }),
      );
      if (done) changed++;
    }
    return changed;
  },
};

import type { Feature } from "../types.js";
import { getSurvey, listResponses } from "../../store/surveys.js";
import { renderSurveyCard } from "./card.js";
import { onResponse } from "./responses.js";
import { survey } from "./survey.js";

/**
 * Paid surveys (issue 11): `/survey <amount> [first N] [members|anyone]` on an issue whose
 * description holds the questions, the responses paid, `/survey close`, and the survey's card.
 * No expiry: a survey runs until its author closes it or its last response is paid.
 */
export const surveys: Feature = {
  name: "surveys",
  commands: [survey],
  events: [
    { on: "issue_comment.created", handle: onResponse },
    { on: "discussion_comment.created", handle: onResponse },
  ],
  cards: [
    {
      kind: "survey",
      async render(db, id) {
        if (!/^\d+$/.test(id)) return null;
        const s = await getSurvey(db, BigInt(id));
        return s ? renderSurveyCard(s, await listResponses(db, s.id)) : null;
      },
    },
  ],
};

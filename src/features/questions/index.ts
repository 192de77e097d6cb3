import type { Feature } from "../types.js";
import { getQuestion, listAnswers } from "../../store/questions.js";
import { onAnswer } from "./answers.js";
import { askCommand } from "./ask.js";
import { renderQuestionCard } from "./card.js";
import { decline } from "./decline.js";
import { expireQuestions } from "./expiry.js";
import { price } from "./price.js";

/** Paid questions to a person, a GitHub team or a config list (issue 11): /price, /ask, /decline, answers, expiry, the question card. */
export const questions: Feature = {
  name: "questions",
  commands: [price, askCommand, decline],
  // In issues and in Discussions, where the accepted answer counts too.
  events: [
    { on: "issue_comment.created", handle: onAnswer },
    { on: "discussion_comment.created", handle: onAnswer },
    { on: "discussion.answered", handle: onAnswer },
  ],
  sweeps: [expireQuestions],
  cards: [
    {
      kind: "question",
      async render(db, id) {
        if (!/^\d+$/.test(id)) return null;
        const q = await getQuestion(db, BigInt(id));
        return q ? renderQuestionCard(q, await listAnswers(db, q.id)) : null;
      },
    },
  ],
};

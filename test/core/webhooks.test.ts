import { deliveryAccount, isHandled, objectKey, parseAccounts } from "../../src/core/webhooks.js";
import { REPO, commentCreated, issueClosed, issueLabeled, issueReopened, pullClosed } from "../support/payloads.js";

const alice = { login: "alice", id: 1001 };

describe("the object a delivery acts on", () => {
  test("a comment's key is its comment id, whatever the delivery", () => {
    const a = commentCreated({ issue: { number: 1 }, commentId: 55, body: "/bounty 5usd", user: alice });
    const b = commentCreated({ issue: { number: 2 }, commentId: 55, body: "/bounty 9usd", user: alice });
    expect(objectKey("issue_comment", "created", a)).toBe(objectKey("issue_comment", "created", b));
    expect(objectKey("issue_comment", "created", a)).not.toBe(
      objectKey("issue_comment", "created", commentCreated({ issue: { number: 1 }, commentId: 56, body: "/bounty 5usd", user: alice })),
    );
  });

  test("a merge is keyed by repository and PR number; an unmerged close also by when it closed", () => {
    const merged = pullClosed({ pr: { number: 7, author: alice }, sender: alice });
    const again = structuredClone(merged);
    again.pull_request.closed_at = "2030-01-01T00:00:00Z";
    expect(objectKey("pull_request", "closed", merged)).toBe(JSON.stringify(["pr-merged", String(REPO.id), "7"]));
    expect(objectKey("pull_request", "closed", again)).toBe(objectKey("pull_request", "closed", merged));
    const unmerged = pullClosed({ pr: { number: 7, author: alice, merged: false }, sender: alice });
    const later = structuredClone(unmerged);
    later.pull_request.closed_at = "2030-01-01T00:00:00Z";
    expect(objectKey("pull_request", "closed", unmerged)).not.toBe(objectKey("pull_request", "closed", later));
  });

  test("closing, reopening and labelling are keyed by the issue's timestamps, so each real change is new", () => {
    const c1 = issueClosed({ issue: { number: 3, stateReason: "completed" }, sender: alice });
    const r = issueReopened({ issue: { number: 3 }, sender: alice });
    const c2 = issueClosed({ issue: { number: 3, stateReason: "completed" }, sender: alice });
    const keys = [objectKey("issues", "closed", c1), objectKey("issues", "reopened", r), objectKey("issues", "closed", c2)];
    expect(new Set(keys).size).toBe(3);
    expect(objectKey("issues", "closed", structuredClone(c1))).toBe(keys[0]);

    const l = issueLabeled({ issue: { number: 3 }, label: "bounty/5usd", sender: alice });
    const u = { ...structuredClone(l), action: "unlabeled" };
    expect(objectKey("issues", "labeled", l)).not.toBe(objectKey("issues", "unlabeled", u));
    const other = structuredClone(l);
    other.label.name = "bounty/50usd";
    expect(objectKey("issues", "labeled", other)).not.toBe(objectKey("issues", "labeled", l));
    // A colon in a label name cannot make two different changes collide.
    const x = structuredClone(l);
    x.label.name = "a:b";
    const y = structuredClone(l);
    y.label.name = "a";
    y.issue.updated_at = `b:${l.issue.updated_at}`;
    expect(objectKey("issues", "labeled", x)).not.toBe(objectKey("issues", "labeled", y));
  });

  test("no key without what it needs", () => {
    expect(objectKey("issue_comment", "created", { repository: { id: 1 }, comment: {} })).toBeNull();
    expect(objectKey("issue_comment", "created", {})).toBeNull();
    expect(objectKey("push", null, { repository: { id: 1 } })).toBeNull();
  });

  test("handled events, accounts and account lists", () => {
    expect(isHandled("issue_comment", "created")).toBe(true);
    expect(isHandled("issue_comment", "edited")).toBe(false);
    expect(isHandled("push", undefined)).toBe(false);
    expect(deliveryAccount(commentCreated({ issue: { number: 1 }, commentId: 1, body: "", user: alice }))).toBe(REPO.owner);
    expect(deliveryAccount({ installation: { id: 1, account: { login: "kubernetes-sigs" } } })).toBe("kubernetes-sigs");
    expect(deliveryAccount({})).toBeNull();
    expect(parseAccounts(" Kubernetes, kubernetes-sigs,,kubernetes ")).toEqual(["kubernetes", "kubernetes-sigs"]);
  });
});

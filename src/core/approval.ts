/**
 * Self-dealing: an award whose recipient put money into the bounty, or made the award, is not
 * paid on the word of the people involved. It waits for an operator, whatever PAYOUT_MODE says.
 */

/** Someone who put money into a bounty: by their own pledge, or by adding a label that pledged. */
export interface Pledger {
  id: number;
  login: string;
  /** The label they added, for a label pledge. */
  label: string | null;
}

/** Why an award to `recipient` needs an operator's approval, or null when it does not. */
export function approvalNeeded(
  recipient: { id: number; login: string },
  of: { pledgers: readonly Pledger[]; awarderId: number | null },
): string | null {
  if (of.awarderId !== null && of.awarderId === recipient.id) return `@${recipient.login} made this award`;
  const own = of.pledgers.filter((p) => p.id === recipient.id);
  if (own.length === 0) return null;
  const labels = own.filter((p) => p.label !== null).map((p) => `\`${p.label}\``);
  if (own.some((p) => p.label === null)) return `@${recipient.login} pledged on this bounty`;
  return `@${recipient.login} added the label ${labels.join(", ")} that pledged on this bounty`;
}

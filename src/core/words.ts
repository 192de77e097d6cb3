/** "a", "a and b", "a, b and c": the one joiner for lists in replies and on cards. */
export function listAnd(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

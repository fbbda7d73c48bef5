/**
 * Pure logic of call details: which streams a sub-view shows, which (user, peer) pair a
 * stream's full-link series is asked for, and a client event's type as words. Enum values are
 * the protos' numbers (MediaKind, SubViewKind, ViewSide), so this module needs no generated code.
 */

/** SubViewKind → the MediaKind it shows (ALL: every kind). */
const SUB_VIEW_MEDIA: Record<number, number | "all"> = { 1: "all", 2: 1, 3: 2, 4: 3 };

/** The streams of `streams` that sub-view `kind` shows, in their order. */
export function streamsOfSubView<S extends { media: number }>(kind: number, streams: readonly S[]): S[] {
  const media = SUB_VIEW_MEDIA[kind];
  if (media === undefined) return [];
  return media === "all" ? [...streams] : streams.filter((s) => s.media === media);
}

/** ViewSide.RECEIVER */
const RECEIVER = 1;

/**
 * GetQualitySeries' (user_id, peer_id) for a stream of `user`'s view: the receiver reports a
 * pair, so in the receiver view it is (user, sender peer); in the sender view the user's own
 * upstream is (user, "") and a receiver's link is (that receiver, user).
 */
export function seriesPair(side: number, user: string, peer: string): { userId: string; peerId: string } {
  if (peer === "") return { userId: user, peerId: "" };
  return side === RECEIVER ? { userId: user, peerId: peer } : { userId: peer, peerId: user };
}

/** `CLIENT_EVENT_TYPE_NETWORK_CHANGE` or the enum's short name `NETWORK_CHANGE` → "network change". */
export function eventTypeName(name: string | undefined): string {
  if (name === undefined || name === "") return "event";
  return name.replace(/^CLIENT_EVENT_TYPE_/, "").toLowerCase().replaceAll("_", " ");
}

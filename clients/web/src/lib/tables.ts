/**
 * Table logic the screens share, without DOM: the sort order of a column header click, a
 * stack of page tokens (forward with the server's next_page_token, back by popping), and a
 * breakdown's rows with each value's share of the online users and the summed rest.
 */

/** A table's sort: the column key and its direction. */
export interface Sort<K> {
  key: K;
  ascending: boolean;
}

/**
 * The sort after a click on `key`: the same column flips its direction; another column
 * starts in its natural direction (`ascendingFirst(key)`, e.g. rooms by id ascending, figures
 * largest first).
 */
export function nextSort<K>(current: Sort<K>, key: K, ascendingFirst: (key: K) => boolean = () => false): Sort<K> {
  if (current.key === key) return { key, ascending: !current.ascending };
  return { key, ascending: ascendingFirst(key) };
}

/** The `aria-sort` of a column header under `current`. */
export function ariaSort<K>(current: Sort<K>, key: K): "ascending" | "descending" | "none" {
  if (current.key !== key) return "none";
  return current.ascending ? "ascending" : "descending";
}

/** Page tokens of a listing: `tokens[i]` fetches page i ("" is the first page). */
export class Pager {
  private tokens: string[] = [""];
  private nextToken = "";

  /** The 0-based index of the page shown. */
  get index(): number {
    return this.tokens.length - 1;
  }
  /** The token that fetches the page shown. */
  get current(): string {
    return this.tokens[this.tokens.length - 1]!;
  }
  get hasNext(): boolean {
    return this.nextToken !== "";
  }
  get hasPrevious(): boolean {
    return this.tokens.length > 1;
  }
  /** Records the answer's next_page_token for the page shown. */
  answered(nextPageToken: string): void {
    this.nextToken = nextPageToken;
  }
  /** Moves to the next page (call only when hasNext); returns its token. */
  forward(): string {
    this.tokens.push(this.nextToken);
    this.nextToken = "";
    return this.current;
  }
  /** Moves back one page; returns its token. */
  back(): string {
    if (this.tokens.length > 1) this.tokens.pop();
    this.nextToken = "";
    return this.current;
  }
  /** Back to the first page (a new sort or filter). */
  reset(): void {
    this.tokens = [""];
    this.nextToken = "";
  }
}

/** Figures of one breakdown value, as the row needs them. */
export interface BreakdownFigures {
  value: string;
  onlineUsers: number;
  abnormalUsers: number;
  videoStall: number;
  audioStall: number;
}

export interface BreakdownRow extends BreakdownFigures {
  /** "value" for a listed value, "rest" for the values past the top summed. */
  kind: "value" | "rest";
  /** Percent of the slot's online users (listed + rest); 0 when nobody is online. */
  share: number;
}

/**
 * The rows of a breakdown: the listed values in the server's order, then the rest when it
 * sums any value (`valueCount` > listed) ; the share is of all online users of the slot.
 */
export function breakdownRows(values: readonly BreakdownFigures[], rest: BreakdownFigures | undefined, valueCount: number): BreakdownRow[] {
  const withRest = rest !== undefined && valueCount > values.length;
  const total = values.reduce((sum, v) => sum + v.onlineUsers, 0) + (withRest ? rest.onlineUsers : 0);
  const share = (n: number): number => (total === 0 ? 0 : (100 * n) / total);
  const rows: BreakdownRow[] = values.map((v) => ({ ...v, kind: "value", share: share(v.onlineUsers) }));
  if (withRest) rows.push({ ...rest, kind: "rest", share: share(rest.onlineUsers) });
  return rows;
}

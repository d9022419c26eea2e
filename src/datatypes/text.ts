/**
 * A mergeable text: a rope stored as Git trees (the Ezirmin post and the queue-and-rope paper).
 * Leaves are blobs holding chunks of the text (256 to 4096 UTF-16 code units, about 1.3 K on
 * average, cut where the content says, see text/chunking.ts); inner nodes are trees of at most 64
 * entries named `<index>-<length>`. The shape depends only on the text, so equal texts are equal
 * trees (except inside stretches of more than about eight leaves with no content-defined cut point,
 * such as one short pattern repeated, where edits stop re-chunking early to stay O(log n): see
 * RESYNC_LIMIT in text/rope-edit.ts; merges still converge to the same text there); the depth is O(log n) (every level at least halves the one below: about 4 levels for
 * 1 MB, at most 46 for the largest text a JS string can hold).
 *
 * Positions and lengths count UTF-16 code units, like JS strings. Every edit keeps the text valid
 * Unicode: a position inside a surrogate pair, or a string with a lone surrogate, is
 * INVALID_ARGUMENT, as is a position outside the text.
 *
 * Merge (see text/rope-merge.ts): subtrees changed on one side only are taken as they are; where
 * both sides changed the same leaves, a character diff of each side against the ancestor is merged
 * by operational transform, which never conflicts and gives the same text whichever side is `a`.
 */
import { invalidArgument } from "../core/errors.js";
import type { Node, TreeContext } from "../tree/node.js";
import type { OperationOptions, TypedSlot } from "./slot.js";
import { isWellFormed } from "../codec/utf8.js";
import { commonAffixes, isHighSurrogate, isLowSurrogate } from "./text/chunking.js";
import { spliceRope } from "./text/rope-edit.js";
import { mergeRopes } from "./text/rope-merge.js";
import { collectRange, collectText, loadItems, sumLengths, textNode, type Item } from "./text/rope-node.js";

/**
 * A text at a path of a branch or a transaction. Reads cost O(log n) objects (plus the leaves a
 * slice covers); each edit is one commit (`insert <path>`, `delete <path>`, `set <path>`) that
 * reads and writes O(log n) objects; an edit that changes nothing makes no commit.
 */
export class Text {
  /** @internal */
  constructor(private readonly slot: TypedSlot) {}

  /** The number of UTF-16 code units (0 when the text does not exist). One read. */
  async length(): Promise<number> {
    const top = await this.top();
    return sumLengths(top, 0, top.length);
  }

  /** The whole text ("" when it does not exist). O(n). */
  async toString(): Promise<string> {
    const out: string[] = [];
    await collectText(this.slot.ctx, await this.top(), out);
    return out.join("");
  }

  /**
   * The character at `pos`: one code unit, or the two of a surrogate pair starting there.
   * INVALID_ARGUMENT when `pos` is outside `[0, length)` or at the second half of a pair.
   */
  async get(pos: number): Promise<string> {
    const top = await this.top();
    const n = sumLengths(top, 0, top.length);
    checkPosition(pos, n - 1, "position");
    const out: string[] = [];
    await collectRange(this.slot.ctx, top, pos, Math.min(n, pos + 2), out);
    const s = out.join("");
    if (isLowSurrogate(s.charCodeAt(0))) throw invalidArgument(`text: position ${pos} is inside a surrogate pair`);
    return isHighSurrogate(s.charCodeAt(0)) ? s.slice(0, 2) : s.slice(0, 1);
  }

  /**
   * The code units `[start, end)` (`end` defaults to the length), like `String#slice` but with no
   * negative or clamped positions: INVALID_ARGUMENT unless `0 <= start <= end <= length`. Like
   * `String#slice`, a bound inside a surrogate pair is allowed here (it only reads).
   * O(log n + (end - start)).
   */
  async slice(start: number, end?: number): Promise<string> {
    const top = await this.top();
    const n = sumLengths(top, 0, top.length);
    checkPosition(start, n, "start");
    const stop = end ?? n;
    checkPosition(stop, n, "end");
    if (stop < start) throw invalidArgument(`text: slice end ${stop} is before its start ${start}`);
    if (stop === start) return "";
    const out: string[] = [];
    await collectRange(this.slot.ctx, top, start, stop, out);
    return out.join("");
  }

  /** Inserts `s` before position `pos` (`0 <= pos <= length`) in one commit (`insert <path>`). Returns the new length. */
  async insert(pos: number, s: string, options?: OperationOptions): Promise<number> {
    checkString(s);
    return this.edit("insert", (n) => {
      checkPosition(pos, n, "position");
      return [pos, pos, s];
    }, options);
  }

  /** Deletes `length` code units from `pos` in one commit (`delete <path>`). Returns the new length. */
  async delete(pos: number, length: number, options?: OperationOptions): Promise<number> {
    return this.edit("delete", (n) => {
      checkPosition(pos, n, "position");
      checkPosition(length, n - pos, "length");
      return [pos, pos + length, ""];
    }, options);
  }

  /**
   * `set(pos, s)`: overwrites the code units from `pos` with `s` (as the post's `set t 1 'x'`),
   * extending the text when `s` runs past its end (`0 <= pos <= length`). `set(s)`: replaces the
   * whole text with `s`, changing only what differs (the common prefix and suffix stay, so the
   * commit writes O(log n + change) objects, though finding them reads O(n)). One commit
   * (`set <path>`). Returns the new length.
   */
  set(pos: number, s: string, options?: OperationOptions): Promise<number>;
  set(s: string, options?: OperationOptions): Promise<number>;
  async set(a: number | string, b?: string | OperationOptions, c?: OperationOptions): Promise<number> {
    if (typeof a === "string") {
      checkString(a);
      const s = a;
      return this.editWithText("set", async (top) => {
        const out: string[] = [];
        await collectText(this.slot.ctx, top, out);
        const old = out.join("");
        const [p, q] = commonAffixes(old, s);
        return [p, old.length - q, s.slice(p, s.length - q)];
      }, b as OperationOptions | undefined);
    }
    if (typeof b !== "string") throw invalidArgument("text: set(pos, s) needs a string");
    const s = b;
    checkString(s);
    return this.edit("set", (n) => {
      checkPosition(a, n, "position");
      return [a, Math.min(n, a + s.length), s];
    }, c);
  }

  private async top(): Promise<Item[]> {
    return topItems(this.slot.ctx, await this.slot.read());
  }

  private edit(op: string, range: (length: number) => [number, number, string], options: OperationOptions | undefined): Promise<number> {
    return this.editWithText(op, (top) => Promise.resolve(range(sumLengths(top, 0, top.length))), options);
  }

  private editWithText(op: string, range: (top: Item[]) => Promise<[number, number, string]>, options: OperationOptions | undefined): Promise<number> {
    const { ctx } = this.slot;
    return this.slot.update(
      op,
      async (node) => {
        const top = await topItems(ctx, node);
        const length = sumLengths(top, 0, top.length);
        const [start, end, s] = await range(top);
        const newLength = length - (end - start) + s.length;
        if (start === end && s.length === 0) return { node: undefined, result: length };
        if (end - start === s.length) {
          // An overwrite with the same characters changes nothing: no commit.
          const out: string[] = [];
          await collectRange(ctx, top, start, end, out);
          if (out.join("") === s) return { node: undefined, result: length };
        }
        return { node: textNode(ctx, await spliceRope(ctx, top, start, end, s)), result: newLength };
      },
      options,
    );
  }
}

/** The top level of the text subtree `node` (`[]` when absent or empty). One read. */
export async function topItems(ctx: TreeContext, node: Node | undefined): Promise<Item[]> {
  return node === undefined ? [] : loadItems(ctx, node, true);
}

/**
 * The 3-way merge of texts (never conflicts; the same text, hence the same tree, whichever side is
 * `a`). Cost: O(log n) reads per changed region plus the size of the regions both sides changed,
 * never O(n) unless the changes are.
 */
export async function mergeTexts(ctx: TreeContext, old: Node | undefined, a: Node, b: Node): Promise<Node> {
  const top = await mergeRopes(ctx, await topItems(ctx, old), await topItems(ctx, a), await topItems(ctx, b));
  return textNode(ctx, top);
}

function checkPosition(pos: number, max: number, what: string): void {
  if (!Number.isSafeInteger(pos) || pos < 0 || pos > max) {
    throw invalidArgument(`text: ${what} ${String(pos)} is outside [0, ${Math.max(max, 0)}]`);
  }
}

function checkString(s: unknown): void {
  if (typeof s !== "string") throw invalidArgument("text: expected a string");
  if (!isWellFormed(s)) throw invalidArgument("text: the string has a lone surrogate (not valid Unicode)");
}

// Searching public posts: one function, one SQL statement per dialect (FTS5 with bm25 on SQLite, the
// generated tsvector with websearch_to_tsquery on Postgres). Any text is safe to search for: it is
// cut into word tokens first, and only those reach the database, as bound values (FTS5 would
// otherwise throw on `"unclosed`, `NEAR(`, `-word`, `*`, `title:`).
import { sql } from 'kysely';
import type { Orm } from '../db/orm.ts';
import { PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { summaryOf, type PostSummary, type Reads } from './reads.ts';

// Bounds the work of one search: a longer query is refused, terms after the first few are ignored.
export const QUERY_MAX = 200;
export const TERMS_MAX = 8;
const TERM_MAX = 40;
// Results shown at once: a search is a way in, not a list to page through.
const RESULTS = 20;
// Matches ranked per search, newest first: bounds the work of a word that thousands of posts share
// (ranking all 125,000 matches of a common word among a million posts took about 4 s on SQLite).
const CANDIDATES = 1_000;
// Where a snippet's match starts and ends: private-use characters, so the snippet can be escaped
// first and marked after (the databases' snippet functions return the text unescaped).
const START = '\uE000';
const END = '\uE001';

export type SearchResult = PostSummary & { snippetHtml: string };
export type Search = { ok: true; terms: string[]; results: SearchResult[] } | { ok: false; reason: 'invalid'; fields: Record<string, string> };

/** The query's words (letters, digits, underscores), at most TERMS_MAX of them. */
export function termsOf(query: string): string[] {
  return (query.normalize('NFKC').match(/[\p{L}\p{N}_]+/gu) ?? []).slice(0, TERMS_MAX).map((term) => term.slice(0, TERM_MAX));
}

export function createSearch(orm: Orm, now: () => Date, reads: Reads) {
  const pg = orm.em.getPlatform() instanceof PostgreSqlPlatform;

  /** Public posts matching every word of `query`, best first, each with an escaped, highlighted snippet. */
  async function searchPosts(query: string): Promise<Search> {
    if (query.length > QUERY_MAX) return { ok: false, reason: 'invalid', fields: { q: `Keep the search to ${QUERY_MAX} characters or fewer.` } };
    const terms = termsOf(query);
    if (terms.length === 0) return { ok: true, terms, results: [] };
    // `published()` is the one filter every public read shares: drafts and future posts are never found.
    const rows = await (pg ? onPostgres(terms) : onSqlite(terms)).limit(RESULTS).execute();
    const snippets = pg ? new Map(rows.map((row) => [row.id, (row as { snippet?: string }).snippet ?? ''])) : await sqliteSnippets(terms, rows.map((row) => row.id));
    const results = rows.map((row) => ({ ...summaryOf(row, now()), snippetHtml: markedSnippet(snippets.get(row.id) ?? '') }));
    return { ok: true, terms, results };
  }

  // Every term quoted: FTS5 then reads each as a plain word, never as syntax; all must match.
  const matchOf = (terms: string[]) => terms.map((term) => `"${term}"`).join(' ');

  // The newest CANDIDATES matches are ranked (FTS5 walks its index newest first and stops there), so a
  // word every post has costs what a rare one does. Lower bm25 is better; a title word counts 4×.
  const onSqlite = (terms: string[]) =>
    reads.published()
      .innerJoin(
        (eb) => eb.selectFrom('post_search')
          .select([sql<number>`rowid`.as('id'), sql<number>`bm25(post_search, 4.0, 1.0)`.as('rank')])
          .where(sql<boolean>`post_search match ${matchOf(terms)}`)
          .orderBy(sql`rowid desc`)
          .limit(CANDIDATES)
          .as('m'),
        (join) => join.onRef('m.id', '=', 'p.id'),
      )
      .orderBy('m.rank')
      .orderBy('p.id', 'desc');

  /** snippet() has to run in a query that matches; for the few posts shown, by rowid. */
  async function sqliteSnippets(terms: string[], ids: number[]): Promise<Map<number, string>> {
    if (ids.length === 0) return new Map();
    const { rows } = await sql<{ id: number; snippet: string }>`select rowid as id, snippet(post_search, 1, ${START}, ${END}, ' … ', 24) as snippet
      from post_search where post_search match ${matchOf(terms)} and rowid in (${sql.join(ids)})`.execute(reads.db());
    return new Map(rows.map((row) => [row.id, row.snippet]));
  }

  // Postgres finds every match in the GIN index; only the newest CANDIDATES are ranked, and
  // ts_headline (which reads the whole body) runs for the posts shown only.
  const onPostgres = (terms: string[]) => {
    const query = sql`websearch_to_tsquery('english', ${terms.join(' ')})`;
    const options = `StartSel=${START}, StopSel=${END}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;
    return reads.published()
      .innerJoin(
        (eb) => eb.selectFrom('post as c')
          .select(['c.id', sql<number>`ts_rank(c.post_search, ${query})`.as('rank')])
          .where(sql<boolean>`c.post_search @@ ${query}`)
          .orderBy('c.id', 'desc')
          .limit(CANDIDATES)
          .as('m'),
        (join) => join.onRef('m.id', '=', 'p.id'),
      )
      .select(sql<string>`ts_headline('english', p.body, ${query}, ${options})`.as('snippet'))
      .orderBy('m.rank', 'desc')
      .orderBy('p.id', 'desc');
  };

  return { searchPosts };
}

/**
 * Escapes the snippet, then marks each match: user text never becomes markup. The snippet is cut
 * from the Markdown, so its emphasis and heading marks are dropped first (a reader wants the words).
 */
export function markedSnippet(text: string): string {
  const words = text.replace(/\*+|`+|~~|^#+ /gm, '').replace(/(^|\s)_+|_+(?=\s|$)/g, '$1');
  const escaped = words.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return escaped
    .replace(new RegExp(`${START}([^${START}${END}]*)${END}`, 'g'), '<mark>$1</mark>')
    .replace(new RegExp(`[${START}${END}]`, 'g'), '');
}

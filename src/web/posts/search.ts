// Search: the page (a plain GET form; htmx swaps only the results) and `GET /api/posts?q=`.
import type { RequestHandler } from 'express';
import type { Posts } from '../../posts/index.ts';
import { show } from '../respond.ts';

export function searchPages({ posts }: { posts: Posts }) {
  const search: RequestHandler = async (req, res) => {
    // A repeated `q` (an array) is not a search: it shows the empty form.
    const q = typeof req.query.q === 'string' ? req.query.q : '';
    const view = { page: 'search', fragment: 'search-results', title: q ? `Search: ${q.slice(0, 60)}` : 'Search' };
    const outcome = await posts.searchPosts(q);
    if (!outcome.ok) return show(req, res, { ...view, status: 422 }, { q, errors: outcome.fields });
    show(req, res, view, { q, results: outcome.results });
  };
  return { search };
}

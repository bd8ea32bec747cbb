// Full-text search over posts (issue 25), kept by the database itself so no write path can forget
// it: on SQLite an FTS5 index over post's title and body (external content, kept in step by
// triggers); on Postgres a generated tsvector column with a GIN index. Neither is an entity: the
// drift check knows them by name (src/db/orm.ts, SEARCH_OBJECTS). Queries: src/posts/search.ts.
import { InkwellMigration } from './support/migration.ts';

export class Migration20261206031000_post_search extends InkwellMigration {
  override name = 'Migration20261206031000_post_search';

  override async up(): Promise<void> {
    const { pg } = this.schema();
    if (pg) {
      // 'english': stems like SQLite's porter tokenizer ("writing" finds "write"); title words weigh more.
      this.addSql(`alter table "post" add column "post_search" tsvector generated always as (
        setweight(to_tsvector('english', "title"), 'A') || setweight(to_tsvector('english', "body"), 'B')) stored`);
      this.addSql('create index "post_search_index" on "post" using gin ("post_search")');
      return;
    }
    this.addSql(`create virtual table post_search using fts5(title, body, content='post', content_rowid='id',
      tokenize='porter unicode61 remove_diacritics 2')`);
    this.addSql(`create trigger post_search_insert after insert on post begin
      insert into post_search(rowid, title, body) values (new.id, new.title, new.body); end`);
    this.addSql(`create trigger post_search_delete after delete on post begin
      insert into post_search(post_search, rowid, title, body) values ('delete', old.id, old.title, old.body); end`);
    this.addSql(`create trigger post_search_update after update of title, body on post begin
      insert into post_search(post_search, rowid, title, body) values ('delete', old.id, old.title, old.body);
      insert into post_search(rowid, title, body) values (new.id, new.title, new.body); end`);
    this.addSql(`insert into post_search(post_search) values ('rebuild')`);
  }

  override async down(): Promise<void> {
    const { pg } = this.schema();
    if (pg) {
      this.addSql('alter table "post" drop column "post_search"');
      return;
    }
    for (const trigger of ['post_search_insert', 'post_search_delete', 'post_search_update']) this.addSql(`drop trigger ${trigger}`);
    this.addSql('drop table post_search');
  }
}

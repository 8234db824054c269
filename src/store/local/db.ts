/**
 * The store database (libstore/local-store.cc, schema.sql): Nix's schema 10,
 * byte-for-byte the same tables, so the reference Nix and tix share a store.
 *
 * This is the only module that imports better-sqlite3. It speaks in rows of
 * full printed paths; `LocalStore` converts to `StorePath`/`ValidPathInfo`.
 * Invariants: WAL mode, foreign keys on, `db/schema` holds "10" (no newline),
 * and every multi-row change runs in one IMMEDIATE transaction.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NixError } from '../../core/index.js';
import { StoreErrorCode } from '../errors.js';
import { tryLockFileSync, type FileLock } from '../locks.js';

export const SCHEMA_VERSION = 10;

/**
 * better-sqlite3 (a native addon, ~10 ms to load) is required on the first
 * open, so commands that never touch the database (nix-hash, --eval) skip it.
 */
let sqlite: typeof Database | undefined;
function loadSqlite(): typeof Database {
  return (sqlite ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database);
}

/** The text of Nix's schema.sql, so `.schema` of a tix-created DB matches Nix's. */
const SCHEMA_SQL = `create table if not exists ValidPaths (
    id               integer primary key autoincrement not null,
    path             text unique not null,
    hash             text not null,
    registrationTime integer not null,
    deriver          text,
    narSize          integer,
    ultimate         integer, -- null implies "false"
    sigs             text, -- space-separated
    ca               text -- if not null, an assertion that the path is content-addressed; see ValidPathInfo
);

create table if not exists Refs (
    referrer  integer not null,
    reference integer not null,
    primary key (referrer, reference),
    foreign key (referrer) references ValidPaths(id) on delete cascade,
    foreign key (reference) references ValidPaths(id) on delete restrict
);

create index if not exists IndexReferrer on Refs(referrer);
create index if not exists IndexReference on Refs(reference);

-- Paths can refer to themselves, causing a tuple (N, N) in the Refs
-- table.  This causes a deletion of the corresponding row in
-- ValidPaths to cause a foreign key constraint violation (due to \`on
-- delete restrict' on the \`reference' column).  Therefore, explicitly
-- get rid of self-references.
create trigger if not exists DeleteSelfRefs before delete on ValidPaths
  begin
    delete from Refs where referrer = old.id and reference = old.id;
  end;

create table if not exists DerivationOutputs (
    drv  integer not null,
    id   text not null, -- symbolic output id, usually "out"
    path text not null,
    primary key (drv, id),
    foreign key (drv) references ValidPaths(id) on delete cascade
);

create index if not exists IndexDerivationOutputs on DerivationOutputs(path);
`;

/** One ValidPaths row, as stored. */
export interface PathRow {
  id: number;
  path: string;
  hash: string;
  registrationTime: number;
  deriver: string | null;
  narSize: number | null;
  ultimate: number | null;
  sigs: string | null;
  ca: string | null;
}

/** What registration writes for one path (full printed paths). */
export interface RegisterRow {
  path: string;
  hash: string;
  registrationTime: number;
  deriver: string | null;
  narSize: number | null;
  ultimate: boolean;
  sigs: string | null;
  ca: string | null;
  references: string[];
  /** outputName → output path, for `.drv` paths. */
  drvOutputs?: [string, string][];
}

type Stmt = Database.Statement;

function dbError(what: string, e: unknown): NixError {
  return new NixError(StoreErrorCode.E_DB, `${what}: ${(e as Error).message}`, { cause: e });
}

export class StoreDb {
  private readonly db: Database.Database;
  private readonly st: Record<string, Stmt>;
  /** One transaction wrapper, made once (making one per call is costly). */
  private readonly txn: Database.Transaction<(f: () => unknown) => unknown>;

  private constructor(db: Database.Database) {
    this.db = db;
    this.txn = db.transaction((f: () => unknown) => f());
    const p = (sql: string): Stmt => db.prepare(sql);
    this.st = {
      info: p('select id, path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca from ValidPaths where path = ?'),
      id: p('select id from ValidPaths where path = ?'),
      validAmong: p('select path from ValidPaths where path in (select value from json_each(?))').pluck(true),
      // Nix's updatePathInfo for a path already valid, else a new row: one statement either way.
      upsert: p(
        'insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) values (?, ?, ?, ?, ?, ?, ?, ?) ' +
          'on conflict(path) do update set narSize = excluded.narSize, hash = excluded.hash, ultimate = excluded.ultimate, ' +
          'sigs = excluded.sigs, ca = excluded.ca returning id',
      ),
      insert: p('insert into ValidPaths (path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) values (?, ?, ?, ?, ?, ?, ?, ?)'),
      addRef: p('insert or replace into Refs (referrer, reference) values (?, ?)'),
      addDrvOut: p('insert or replace into DerivationOutputs (drv, id, path) values (?, ?, ?)'),
      refs: p('select path from Refs join ValidPaths on reference = id where referrer = ?'),
      refsById: p('select id, path from Refs join ValidPaths on reference = id where referrer = ?'),
      refsRaw: p('select id, path from Refs join ValidPaths on reference = id where referrer = ?').raw(true),
      referrers: p('select path from Refs join ValidPaths on referrer = id where reference = (select id from ValidPaths where path = ?)'),
      validDerivers: p('select v.path from DerivationOutputs d join ValidPaths v on v.id = d.drv where d.path = ?'),
      drvOutputs: p('select id, path from DerivationOutputs where drv = ?'),
      hashPart: p('select path from ValidPaths where path >= ? limit 1'),
      all: p('select path from ValidPaths'),
      del: p('delete from ValidPaths where id = ?'),
      delRefsFrom: p('delete from Refs where referrer = ?'),
      hasReferrersOther: p('select 1 from Refs where reference = ? and referrer != ? limit 1'),
      setSigs: p('update ValidPaths set sigs = ? where id = ?'),
    };
  }

  /** Open (creating when absent) `<stateDir>/db/db.sqlite`, checking the schema version. */
  static open(dbDir: string, opts: { readOnly?: boolean } = {}): StoreDb {
    mkdirSync(dbDir, { recursive: true });
    const schemaFile = join(dbDir, 'schema');
    checkSchema(readSchemaVersion(schemaFile));
    const creator = opts.readOnly ? undefined : lockForCreation(dbDir, schemaFile);
    try {
      const cur = readSchemaVersion(schemaFile);
      checkSchema(cur);
      return new StoreDb(openDb(dbDir, schemaFile, cur === 0 && !opts.readOnly, opts.readOnly === true));
    } finally {
      creator?.releaseSync();
    }
  }

  close(): void {
    this.db.close();
  }

  queryPathInfo(path: string): PathRow | undefined {
    return this.st.info!.get(path) as PathRow | undefined;
  }

  pathId(path: string): number | undefined {
    return (this.st.id!.get(path) as { id: number } | undefined)?.id;
  }

  isValid(path: string): boolean {
    return this.pathId(path) !== undefined;
  }

  /** Which of `paths` are valid, in one query (a batch of adds looks at a chunk at once). */
  validAmong(paths: readonly string[]): Set<string> {
    return new Set(this.st.validAmong!.all(JSON.stringify(paths)) as string[]);
  }

  queryReferences(id: number): string[] {
    return (this.st.refs!.all(id) as { path: string }[]).map((r) => r.path);
  }

  /** References with their row ids (closure walks go by id: one query per visited path). */
  queryReferencesWithIds(id: number): { id: number; path: string }[] {
    return this.st.refsById!.all(id) as { id: number; path: string }[];
  }

  /** References as [id, path] rows (arrays, not objects: closure walks visit every path). */
  queryReferenceRows(id: number): [number, string][] {
    return this.st.refsRaw!.all(id) as [number, string][];
  }

  /** References of a path by its printed name (empty when not valid). */
  queryReferencesByPath(path: string): string[] {
    const id = this.pathId(path);
    return id === undefined ? [] : this.queryReferences(id);
  }

  queryReferrers(path: string): string[] {
    return (this.st.referrers!.all(path) as { path: string }[]).map((r) => r.path);
  }

  queryValidDerivers(path: string): string[] {
    return (this.st.validDerivers!.all(path) as { path: string }[]).map((r) => r.path);
  }

  queryDerivationOutputs(drvId: number): [string, string][] {
    return (this.st.drvOutputs!.all(drvId) as { id: string; path: string }[]).map((r) => [r.id, r.path]);
  }

  /** The valid path whose printed form starts with `prefix` (`<store>/<hashPart>`), if any. */
  queryPathFromHashPart(prefix: string): string | undefined {
    const r = this.st.hashPart!.get(prefix) as { path: string } | undefined;
    return r !== undefined && r.path.startsWith(prefix) ? r.path : undefined;
  }

  queryAllValidPaths(): string[] {
    return (this.st.all!.all() as { path: string }[]).map((r) => r.path);
  }

  /**
   * Register paths in one transaction: insert every row first, then all
   * references (so paths may refer to each other), then derivation outputs.
   * Already-valid paths are updated in place (Nix `updatePathInfo`).
   */
  registerValidPaths(rows: readonly RegisterRow[]): void {
    this.immediate(() => {
      const ids = new Map<string, number>();
      for (const r of rows) ids.set(r.path, this.insertOrUpdate(r));
      for (const r of rows) {
        const id = ids.get(r.path)!;
        for (const ref of r.references) {
          const refId = ids.get(ref) ?? this.pathId(ref);
          if (refId === undefined) throw new Error(`Assertion failed: reference '${ref}' of '${r.path}' is not valid`);
          this.st.addRef!.run(id, refId);
        }
        for (const [name, out] of r.drvOutputs ?? []) this.st.addDrvOut!.run(id, name, out);
      }
    });
  }

  /**
   * `registerValidPaths` for one path (every add): no id map. A path with
   * no references and no outputs is one statement, run on its own (SQLite
   * makes it a transaction of its own): no BEGIN and COMMIT statements to run.
   */
  registerValidPath(r: RegisterRow): void {
    if (r.references.length === 0 && (r.drvOutputs === undefined || r.drvOutputs.length === 0)) {
      try {
        this.insertOrUpdate(r);
      } catch (e) {
        throw dbError('Nix database transaction failed', e);
      }
      return;
    }
    this.immediate(() => {
      const id = this.insertOrUpdate(r);
      for (const ref of r.references) {
        const refId = ref === r.path ? id : this.pathId(ref);
        if (refId === undefined) throw new Error(`Assertion failed: reference '${ref}' of '${r.path}' is not valid`);
        this.st.addRef!.run(id, refId);
      }
      if (r.drvOutputs !== undefined) for (const [name, out] of r.drvOutputs) this.st.addDrvOut!.run(id, name, out);
    });
  }

  /**
   * A plain insert (Nix's `addValidPath`), the upsert only when the row
   * exists: adds register new paths, and RETURNING costs more than the
   * insert itself.
   */
  private insertOrUpdate(r: RegisterRow): number {
    try {
      return Number(this.st.insert!.run(r.path, r.hash, r.registrationTime, r.deriver, r.narSize, r.ultimate ? 1 : null, r.sigs, r.ca).lastInsertRowid);
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
      return this.upsert(r);
    }
  }

  private upsert(r: RegisterRow): number {
    const row = this.st.upsert!.get(r.path, r.hash, r.registrationTime, r.deriver, r.narSize, r.ultimate ? 1 : null, r.sigs, r.ca) as { id: number };
    return row.id;
  }

  setSigs(id: number, sigs: string | null): void {
    this.st.setSigs!.run(sigs, id);
  }

  /** True when some path other than itself refers to `id`. */
  hasOtherReferrers(id: number): boolean {
    return this.st.hasReferrersOther!.get(id, id) !== undefined;
  }

  /** Remove a path's row (its Refs-as-referrer and DerivationOutputs cascade). */
  invalidatePath(id: number): void {
    this.st.del!.run(id);
  }

  /** The whole graph in one query: referrer path → reference paths. */
  allReferences(): Map<string, string[]> {
    const rows = this.db
      .prepare('select a.path as f, b.path as t from Refs join ValidPaths a on a.id = referrer join ValidPaths b on b.id = reference')
      .all() as { f: string; t: string }[];
    const m = new Map<string, string[]>();
    for (const r of rows) {
      let l = m.get(r.f);
      if (l === undefined) m.set(r.f, (l = []));
      l.push(r.t);
    }
    return m;
  }

  /** Run `fn` in a BEGIN IMMEDIATE transaction (Nix's SQLiteTxn). */
  immediate<T>(fn: () => T): T {
    try {
      return this.txn.immediate(fn) as T;
    } catch (e) {
      if (e instanceof NixError) throw e;
      if (e instanceof Error && e.message.startsWith('Assertion failed')) throw e;
      throw dbError('Nix database transaction failed', e);
    }
  }

  /** A deferred (read) transaction, for consistent multi-query reads. */
  read<T>(fn: () => T): T {
    return this.txn.deferred(fn) as T;
  }
}

function checkSchema(cur: number): void {
  if (cur > SCHEMA_VERSION) {
    throw new NixError(StoreErrorCode.E_DB, `current Nix store schema is version ${cur}, but I only support ${SCHEMA_VERSION}`);
  }
  if (cur !== 0 && cur < SCHEMA_VERSION) {
    throw new NixError(StoreErrorCode.E_DB, `your Nix store has a database in an old format (schema ${cur}); upgrade it with Nix 2.8 first`);
  }
}

/**
 * A store without a schema file is set up under `big-lock` held exclusively.
 * Why: two processes creating one fresh store at once both switched it to WAL
 * and ran the schema, and SQLite answers a journal-mode switch that meets the
 * other's with "database is locked" at once, without its busy wait. Other
 * processes hold big-lock shared for their lifetime (temp roots), so a
 * waiter also stops waiting as soon as the schema file appears: the store
 * then exists and needs no set-up. Undefined when no set-up is needed.
 */
function lockForCreation(dbDir: string, schemaFile: string): FileLock | undefined {
  const lockPath = join(dbDir, 'big-lock');
  let pause: Int32Array | undefined;
  while (readSchemaVersion(schemaFile) === 0) {
    const l = tryLockFileSync(lockPath, 'write');
    if (l !== undefined) return l;
    Atomics.wait((pause ??= new Int32Array(new SharedArrayBuffer(4))), 0, 0, 2);
  }
  return undefined;
}

/** Open db.sqlite with Nix's settings, running the schema when `create`. */
function openDb(dbDir: string, schemaFile: string, create: boolean, readOnly: boolean): Database.Database {
  try {
    const db = new (loadSqlite())(join(dbDir, 'db.sqlite'), { readonly: readOnly, timeout: 3_600_000 });
    // Nix's settings: WAL, synchronous=normal, foreign keys, a large autocheckpoint.
    // The journal mode is switched only when it differs, as Nix does: a switch needs the database to itself.
    if (!readOnly) {
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') db.pragma('journal_mode = wal');
      db.pragma('wal_autocheckpoint = 40000');
    }
    db.pragma('synchronous = normal');
    db.pragma('foreign_keys = 1');
    if (create) {
      db.exec(SCHEMA_SQL);
      const tmp = `${schemaFile}.tmp-${process.pid}`;
      writeFileSync(tmp, String(SCHEMA_VERSION));
      renameSync(tmp, schemaFile);
    }
    return db;
  } catch (e) {
    if (e instanceof NixError) throw e;
    throw dbError('cannot open Nix database', e);
  }
}

function readSchemaVersion(file: string): number {
  if (!existsSync(file)) return 0;
  const s = readFileSync(file, 'utf8').trim();
  if (!/^\d+$/.test(s)) throw new NixError(StoreErrorCode.E_DB, `'${file}' is corrupt`);
  return Number(s);
}

import type { TypesenseVersion } from './messages.js';
import type { CollectionSchema } from './schema.js';

/** A stored document: the JSON object as imported (plus its `id`). */
export type TypesenseDocument = Record<string, unknown>;

/** One collection held in memory. */
export interface StoredCollection {
  /** Internal id: `GET /collections` lists newest (highest id) first (contract §1.2). */
  readonly id: number;
  /** Unix seconds. */
  readonly createdAt: number;
  schema: CollectionSchema;
  /** Documents by id, in storage order (export order, §1.4); an upsert keeps a document's place. */
  readonly documents: Map<string, TypesenseDocument>;
  /** Source of auto-generated ids (Typesense uses the document's sequence id as its id). */
  nextSeqId: number;
}

/**
 * The whole in-memory server state. Tests may read it directly (e.g. to count documents without
 * going through HTTP) but should change it only through HTTP so the contract stays exercised.
 */
export class TypesenseState {
  /** The emulated server version (contract §1.8). */
  version: TypesenseVersion;
  /** Collections by real name. */
  readonly collections = new Map<string, StoredCollection>();
  /** Alias name → target collection name; the target may not exist (§1.5). */
  readonly aliases = new Map<string, string>();
  #nextCollectionId = 1;

  constructor(version: TypesenseVersion) {
    this.version = version;
  }

  /**
   * Resolves a collection-scoped name: a real collection takes precedence over an alias of the
   * same name (contract §1.5, `collection_manager.cpp:738-752`).
   */
  resolveCollection(name: string): StoredCollection | undefined {
    const real = this.collections.get(name);
    if (real !== undefined) return real;
    const target = this.aliases.get(name);
    return target === undefined ? undefined : this.collections.get(target);
  }

  /** Stores a new collection with the next internal id. */
  addCollection(schema: CollectionSchema): StoredCollection {
    const collection: StoredCollection = {
      id: this.#nextCollectionId++,
      createdAt: Math.floor(Date.now() / 1000),
      schema,
      documents: new Map(),
      nextSeqId: 0,
    };
    this.collections.set(schema.name, collection);
    return collection;
  }

  /** Drops every collection and alias (the version is kept). */
  reset(): void {
    this.collections.clear();
    this.aliases.clear();
  }
}

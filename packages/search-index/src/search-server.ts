import { Errors, type Client, type CollectionCreateSchema } from 'typesense';
import { SearchIndexError } from './errors.js';
import { withDeadline, withRetry, type RetryEvent, type RetryPolicy } from './retry.js';

/** One line of an import answer (contract §1.3). */
export interface ImportLineResult {
  success: boolean;
  code?: number;
  error?: string;
}

export interface SearchServerOptions {
  client: Client;
  retry: Readonly<RetryPolicy>;
  /** Deadline of one import attempt. */
  importTimeoutMs: number;
  signal?: AbortSignal | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/**
 * The Typesense calls a reindex makes, each retried per the policy. Aliases and collections are told
 * apart by the real name `GET /collections/:name` answers with, never by message text (contract §3).
 */
export class SearchServer {
  readonly #client: Client;
  readonly #options: SearchServerOptions;

  constructor(options: SearchServerOptions) {
    this.#client = options.client;
    this.#options = options;
  }

  /** The same server with another cancellation signal (cleanup must run after the reindex's own was aborted). */
  withSignal(signal: AbortSignal | undefined): SearchServer {
    return new SearchServer({ ...this.#options, signal });
  }

  /** The collection an alias points to, or undefined when there is no such alias. */
  async aliasTarget(alias: string): Promise<string | undefined> {
    return this.#retry(`read alias ${alias}`, async () => {
      try {
        return (await this.#client.aliases(alias).retrieve()).collection_name;
      } catch (error) {
        if (error instanceof Errors.ObjectNotFound) return undefined;
        throw error;
      }
    });
  }

  /** Every collection's real name. */
  async collectionNames(): Promise<string[]> {
    return this.#retry('list collections', async () => (await this.#client.collections().retrieve()).map((c) => c.name));
  }

  /** `num_documents` of a real collection (SEARCH_INDEX_REQUEST_REJECTED if it is missing). */
  async documentCount(name: string): Promise<number> {
    return this.#retry(`count documents of ${name}`, async () => (await this.#client.collections(name).retrieve()).num_documents);
  }

  /** Creates a collection; false when the name is taken (409). */
  async createCollection(schema: CollectionCreateSchema): Promise<boolean> {
    return this.#retry(`create collection ${schema.name}`, async (attempt) => {
      try {
        await this.#client.collections().create(schema);
        return true;
      } catch (error) {
        // a 409 on a retry is our own earlier attempt whose answer was lost
        if (error instanceof Errors.ObjectAlreadyExists) return attempt > 1;
        throw error;
      }
    });
  }

  /**
   * Drops the collection whose REAL name is `name`. `DELETE /collections/<alias>` would drop the alias's
   * target and leave the alias dangling (contract §1.2), so each attempt first checks that `name` resolves to
   * itself; a name that is gone, or that now only resolves through an alias, is left alone. True if dropped.
   */
  async dropCollection(name: string, policy?: Readonly<RetryPolicy>): Promise<boolean> {
    return this.#retry(
      `drop collection ${name}`,
      async () => {
        try {
          const found = await this.#client.collections(name).retrieve();
          if (found.name !== name) return false;
          await this.#client.collections(name).delete();
          return true;
        } catch (error) {
          if (error instanceof Errors.ObjectNotFound) return false;
          throw error;
        }
      },
      policy,
    );
  }

  /** `PUT /aliases/<alias>`: an atomic repoint (contract §1.5). */
  async pointAlias(alias: string, collection: string, policy?: Readonly<RetryPolicy>): Promise<void> {
    await this.#retry(`point alias ${alias} at ${collection}`, async () => {
      await this.#client.aliases().upsert(alias, { collection_name: collection });
    }, policy);
  }

  /** `DELETE /aliases/<alias>` (undoing the swap of an alias that did not exist before); a missing alias is fine. */
  async deleteAlias(alias: string, policy?: Readonly<RetryPolicy>): Promise<void> {
    await this.#retry(`delete alias ${alias}`, async () => {
      try {
        await this.#client.aliases(alias).delete();
      } catch (error) {
        if (!(error instanceof Errors.ObjectNotFound)) throw error;
      }
    }, policy);
  }

  /**
   * Imports JSONL lines with `action=create` (or `upsert`: a retry is then idempotent) and returns one result per
   * line, in order. The string form of
   * `import()` returns the raw answer and never throws on failed lines (contract §2). Each attempt has a
   * deadline, since typesense-js sets none on imports; `attempt` lets the caller recognise its own
   * earlier, answer-lost writes (409 on a retry).
   */
  async importLines(collection: string, lines: readonly string[], onAttempt?: (attempt: number) => void, action: 'create' | 'upsert' = 'create'): Promise<{ results: ImportLineResult[]; attempts: number }> {
    const what = `${action === 'create' ? 'import' : 'upsert'} ${lines.length} documents into ${collection}`;
    const body = lines.join('\n');
    let attempts = 0;
    const results = await this.#retry(what, async (attempt) => {
      attempts = attempt;
      onAttempt?.(attempt);
      const request = this.#client.collections(collection).documents().import(body, { action });
      const answer: unknown = await withDeadline(request, this.#options.importTimeoutMs, what, this.#options.signal);
      return parseImportAnswer(answer, lines.length, what);
    });
    return { results, attempts };
  }

  /**
   * Deletes documents by id (a missing one is fine): `filter_by=id:[…]` a hundred at a time, ids quoted in backticks;
   * an id holding a backtick cannot be quoted so, and goes alone. Returns how many were deleted.
   */
  async deleteDocuments(collection: string, ids: readonly string[]): Promise<number> {
    let deleted = 0;
    const quotable = ids.filter((id) => !id.includes('`'));
    for (let i = 0; i < quotable.length; i += 100) {
      const batch = quotable.slice(i, i + 100);
      deleted += await this.#retry(`delete ${batch.length} documents from ${collection}`, async () => {
        const answer = await this.#client.collections(collection).documents().delete({ filter_by: `id:[${batch.map((id) => `\`${id}\``).join(',')}]` });
        return answer.num_deleted;
      });
    }
    for (const id of ids.filter((one) => one.includes('`'))) {
      await this.#retry(`delete document ${id} from ${collection}`, async () => {
        await this.#client.collections(collection).documents(id).delete({ ignore_not_found: true });
      });
      deleted++;
    }
    return deleted;
  }

  #retry<T>(what: string, operation: (attempt: number) => Promise<T>, policy?: Readonly<RetryPolicy>): Promise<T> {
    return withRetry(operation, { policy: policy ?? this.#options.retry, what, signal: this.#options.signal, onRetry: this.#options.onRetry });
  }
}

/** The import answer: `\n`-joined JSON lines, one per document; a stray empty line is tolerated. */
function parseImportAnswer(answer: unknown, expected: number, what: string): ImportLineResult[] {
  if (typeof answer !== 'string') throw invalidAnswer(what, `a ${typeof answer} instead of JSON lines`);
  const results: ImportLineResult[] = [];
  for (const line of answer.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw invalidAnswer(what, `a line that is not JSON: ${line.slice(0, 80)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { success?: unknown }).success !== 'boolean') {
      throw invalidAnswer(what, `a line without "success": ${line.slice(0, 80)}`);
    }
    results.push(parsed as ImportLineResult);
  }
  if (results.length !== expected) throw invalidAnswer(what, `${results.length} result lines for ${expected} documents`);
  return results;
}

function invalidAnswer(what: string, problem: string): SearchIndexError {
  return new SearchIndexError('SEARCH_INDEX_INVALID_RESPONSE', `${what}: Typesense answered ${problem}`);
}

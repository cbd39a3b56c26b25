import { ListenerSet } from '../../firmware-bridge/listeners.ts';

/**
 * SQLite result codes that mean the storage itself is failing (disk full, I/O error, a damaged or read-only
 * file), as opposed to a bug in one change or another process holding the lock.
 */
const STORAGE_FAILURE = /^SQLITE_(FULL|IOERR|CORRUPT|NOTADB|READONLY|CANTOPEN|PROTOCOL)/;

export function isStorageFailure(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORAGE_FAILURE.test(code);
}

/** A change could not be written because the storage is failing; nothing of it was kept and no door moved. */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
  constructor(readonly code: string, options?: ErrorOptions) {
    super(`the cabinet cannot write to its database (${code}): nothing was changed`, options);
  }
}

export type StorageState =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: string; readonly since: number; readonly failedChanges: number };

/** Whether the last write reached the database; listeners hear each transition (failing ↔ ok) once. */
export class StorageHealth {
  #state: StorageState = { ok: true };
  readonly #changes: ListenerSet<{ now: StorageState; was: StorageState }>;

  constructor(private readonly now: () => number, onError: (error: unknown) => void) {
    this.#changes = new ListenerSet(onError);
  }

  get state(): StorageState {
    return this.#state;
  }

  onChange(listener: (change: { now: StorageState; was: StorageState }) => void): () => void {
    return this.#changes.add(listener);
  }

  failed(code: string): void {
    const was = this.#state;
    this.#state = was.ok ? { ok: false, code, since: this.now(), failedChanges: 1 } : { ...was, code, failedChanges: was.failedChanges + 1 };
    if (was.ok) this.#changes.emit({ now: this.#state, was });
  }

  succeeded(): void {
    const was = this.#state;
    if (was.ok) return;
    this.#state = { ok: true };
    this.#changes.emit({ now: this.#state, was });
  }
}

/**
 * Tells a faulty door switch from a person: a person does not open and shut a door ten times in five
 * seconds, a loose wire or a worn reed switch does. Keeps each door's recent edge times only.
 */
export class SwitchChatter {
  readonly #edges = new Map<string, number[]>();

  constructor(private readonly limit: { readonly edges: number; readonly withinMs: number }) {}

  /** Records an edge at `at` (ms); true when this switch has now changed `edges` times within `withinMs`. */
  record(door: string, at: number): boolean {
    const recent = (this.#edges.get(door) ?? []).filter((t) => at - t < this.limit.withinMs);
    recent.push(at);
    this.#edges.set(door, recent);
    return recent.length >= this.limit.edges;
  }

  forget(door: string): void {
    this.#edges.delete(door);
  }
}

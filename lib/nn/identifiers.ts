/** String identifiers: 'sparse_categorical_crossentropy', 'sparseCategoricalCrossentropy' and 'SparseCategoricalCrossentropy' name the same thing. */

/** Lower-case letters and digits only: the key every registry is looked up by. */
export function normalizeName(name: string): string {
  return name.replace(/[_\-\s]/g, "").toLowerCase();
}

/** snake_case spelling of a camelCase/PascalCase name, by Keras' rule (Conv2D → conv2d, SimpleRNN → simple_rnn). */
export function snakeCase(name: string): string {
  return name
    .replace(/(.)([A-Z][a-z]+)/g, "$1_$2")
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** Looks `name` up in a registry keyed by normalized names; the error lists what exists. */
export function lookup<T>(what: string, registry: Map<string, T>, name: string, known: readonly string[] | (() => readonly string[])): T {
  const hit = registry.get(normalizeName(name));
  if (hit === undefined) {
    const names = typeof known === "function" ? known() : known;
    throw new Error(`unknown ${what} '${name}'; known: ${names.join(", ")} (snake_case or camelCase), or pass a function`);
  }
  return hit;
}

/** Process-wide counters for default names: dense, dense_1, dense_2, ... like Keras. */
const nameCounts = new Map<string, number>();
export function uniqueName(base: string): string {
  const n = nameCounts.get(base) ?? 0;
  nameCounts.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

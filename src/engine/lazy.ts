/**
 * Memoizes an asynchronous load per key: the first call starts it, later calls share it; a failed load is forgotten,
 * so that the next call tries again. `loaded` seeds what is already there.
 */
export function lazy<K, T>(load: (key: K) => Promise<T>, loaded: Iterable<readonly [K, T]> = []): (key: K) => Promise<T> {
  const loading = new Map<K, Promise<T>>([...loaded].map(([key, value]) => [key, Promise.resolve(value)]));
  return (key) => {
    let p = loading.get(key);
    if (!p) {
      p = load(key);
      p.catch(() => loading.delete(key));
      loading.set(key, p);
    }
    return p;
  };
}

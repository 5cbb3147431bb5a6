import type { DependencyEdge } from '@mbsync/schema-diff';

/** A node to order: `priority` (lower first) and `sortName` break ties so the order is deterministic. */
export interface OrderNode {
  key: string;
  priority: number;
  sortName: string;
  /** A view: it may be created as a stub and completed later to break a cycle, as pg_dump does. */
  breakable?: boolean;
}

/**
 * One step of the creation order: `whole` creates the object; a broken cycle yields `stub` (a placeholder with
 * the right columns, created early) and later `body` (the real definition, once its dependencies exist).
 * `forced` marks an object emitted while a cycle had no breakable member (the restore will likely fail).
 */
export interface OrderStep {
  key: string;
  part: 'whole' | 'stub' | 'body' | 'forced';
}

function compareNodes(a: OrderNode, b: OrderNode): number {
  return a.priority - b.priority || (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Topological sort of `nodes` under `edges` (from needs to), Kahn's algorithm taking the smallest ready node
 * first. Edges to unknown keys are ignored. On a cycle, the smallest breakable node still waiting is split
 * into stub + body (a view whose rule depends on a function returning the view's row type, say).
 */
export function orderByDependencies(nodes: readonly OrderNode[], edges: readonly DependencyEdge[]): OrderStep[] {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) waitingOn.set(n.key, 0);
  const seen = new Set<string>();
  for (const e of edges) {
    const id = `${e.from}\n${e.to}`;
    if (e.from === e.to || seen.has(id) || !byKey.has(e.from) || !byKey.has(e.to)) continue;
    seen.add(id);
    waitingOn.set(e.from, (waitingOn.get(e.from) ?? 0) + 1);
    dependents.set(e.to, [...(dependents.get(e.to) ?? []), e.from]);
  }

  const steps: OrderStep[] = [];
  const stubbed = new Set<string>();
  const done = new Set<string>();
  const ready: OrderNode[] = nodes.filter((n) => waitingOn.get(n.key) === 0).sort(compareNodes);

  // Marks `key` as available to its dependents (after a whole/forced creation or a stub).
  const release = (key: string) => {
    for (const dep of dependents.get(key) ?? []) {
      const left = (waitingOn.get(dep) ?? 0) - 1;
      waitingOn.set(dep, left);
      if (left === 0 && !done.has(dep)) insertSorted(ready, byKey.get(dep)!);
    }
  };

  while (done.size < nodes.length) {
    const next = ready.shift();
    if (next) {
      if (done.has(next.key)) continue;
      done.add(next.key);
      if (stubbed.has(next.key)) {
        steps.push({ key: next.key, part: 'body' });
      } else {
        steps.push({ key: next.key, part: 'whole' });
        release(next.key);
      }
      continue;
    }
    const waiting = nodes.filter((n) => !done.has(n.key)).sort(compareNodes);
    const breakable = waiting.find((n) => n.breakable && !stubbed.has(n.key));
    if (breakable) {
      stubbed.add(breakable.key);
      steps.push({ key: breakable.key, part: 'stub' });
      release(breakable.key);
    } else {
      const forced = waiting[0]!;
      done.add(forced.key);
      steps.push({ key: forced.key, part: stubbed.has(forced.key) ? 'body' : 'forced' });
      if (!stubbed.has(forced.key)) release(forced.key);
    }
  }
  return steps;
}

function insertSorted(list: OrderNode[], node: OrderNode): void {
  let i = list.length;
  while (i > 0 && compareNodes(list[i - 1]!, node) > 0) i -= 1;
  list.splice(i, 0, node);
}

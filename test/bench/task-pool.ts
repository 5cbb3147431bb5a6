/** One unit of work for `runTasks`. */
export interface Task {
  label: string;
  run: () => Promise<unknown>;
}

/**
 * Runs tasks `concurrency` at a time, in order, calling `onDone` after each; the first failure stops
 * the pool from starting new tasks and is rethrown once the running ones settle.
 */
export async function runTasks(tasks: Task[], concurrency: number, onDone: (task: Task, done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < tasks.length) {
      const task = tasks[next++]!;
      try {
        await task.run();
        onDone(task, ++done);
      } catch (error) {
        failure ??= new Error(`${task.label}: ${(error as Error).message}`, { cause: error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
  if (failure !== undefined) throw failure;
}

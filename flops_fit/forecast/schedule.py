"""The makespan of a set of jobs on `slots` parallel slots, by list scheduling in the order the workflow
starts them: highest Snakemake priority first (flops_fit.forecast.resources.job_resources), ties in plan
order (the greedy scheduler's argmax keeps the first of equal rewards); each job starts on the first slot
that frees up, once the job it follows has finished (a WSD cell follows its parent cell, docs/wsd.md:
Snakemake does not start a job before its input exists)."""
import heapq


def list_schedule(durations, priorities=None, slots=1, after=None) -> dict:
    """{"makespan_s", "order": [job index in start order], "start_s": [...]} for jobs of these durations.

    after: per job, the index of the job it must follow, or None (default: none follows another)."""
    n = len(durations)
    if n == 0:
        return {"makespan_s": 0.0, "order": [], "start_s": []}
    pri = list(priorities) if priorities is not None else [0] * n
    after = list(after) if after is not None else [None] * n
    children = [[] for _ in range(n)]
    for i, p in enumerate(after):
        if p is not None:
            children[p].append(i)
    ready = [(-pri[i], i) for i in range(n) if after[i] is None]   # ties keep plan order
    heapq.heapify(ready)
    running, free, t = [], max(1, int(slots)), 0.0
    start, order, end = [0.0] * n, [], 0.0
    while ready or running:
        while free and ready:
            _, i = heapq.heappop(ready)
            start[i] = t
            order.append(i)
            heapq.heappush(running, (t + float(durations[i]), i))
            free -= 1
        if not running:
            break
        t, i = heapq.heappop(running)
        finished = [i]
        while running and running[0][0] == t:   # every slot that frees at t, before choosing the next jobs
            finished.append(heapq.heappop(running)[1])
        for i in finished:
            free += 1
            end = max(end, t)
            for c in children[i]:
                heapq.heappush(ready, (-pri[c], c))
    if len(order) < n:
        raise ValueError("list_schedule: a job follows one that never runs (a cycle in `after`)")
    return {"makespan_s": end, "order": order, "start_s": start}


def lower_bound(durations, slots, after=None) -> float:
    """No schedule beats max(total work / slots, the longest chain of jobs that follow each other)."""
    if not durations:
        return 0.0
    chain = {}

    def length(i):
        if i not in chain:
            p = after[i] if after is not None else None
            chain[i] = float(durations[i]) + (length(p) if p is not None else 0.0)
        return chain[i]

    return max(sum(durations) / max(1, int(slots)), max(length(i) for i in range(len(durations))))

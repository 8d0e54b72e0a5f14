"""The makespan of a set of jobs on `slots` parallel slots, by list scheduling in the order the workflow
starts them: highest Snakemake priority first (flops_fit.forecast.resources.job_resources), ties in plan
order (the greedy scheduler's argmax keeps the first of equal rewards); each job starts on the first slot
that frees up."""
import heapq


def list_schedule(durations, priorities=None, slots=1) -> dict:
    """{"makespan_s", "order": [job index in start order], "start_s": [...]} for jobs of these durations."""
    n = len(durations)
    if n == 0:
        return {"makespan_s": 0.0, "order": [], "start_s": []}
    pri = list(priorities) if priorities is not None else [0] * n
    order = sorted(range(n), key=lambda i: -pri[i])  # stable: ties keep plan order
    free = [0.0] * max(1, int(slots))
    heapq.heapify(free)
    start = [0.0] * n
    end = 0.0
    for i in order:
        t = heapq.heappop(free)
        start[i] = t
        heapq.heappush(free, t + float(durations[i]))
        end = max(end, t + float(durations[i]))
    return {"makespan_s": end, "order": order, "start_s": start}


def lower_bound(durations, slots) -> float:
    """No schedule beats max(total work / slots, longest job)."""
    if not durations:
        return 0.0
    return max(sum(durations) / max(1, int(slots)), max(durations))

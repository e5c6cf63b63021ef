"""A small fixed set of pure-Python workloads, timed inside the interpreter (so that the
start-up of Node or wasmtime is not in the number), the same code on every build.

    python workloads.py NAME [REPEAT]    -> prints "NAME seconds" per run, best first

Each workload is sized to run about a second natively: long enough that a wasm engine's
tier-up and a timer's steps do not decide the ratio, short enough for the whole set to run
on five builds in minutes. `import` is the exception: a start-up-heavy import of a dozen
stdlib packages, once per process (it is cold only the first time).
"""
import sys
import time


def nbody(n=50_000):
    # the classic N-body simulation of the Jovian planets (symplectic integrator)
    pi, days = 3.14159265358979323, 365.24
    solar = 4 * pi * pi
    bodies = [
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], solar],
        [[4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01],
         [1.66007664274403694e-03 * days, 7.69901118419740425e-03 * days, -6.90460016972063023e-05 * days],
         9.54791938424326609e-04 * solar],
        [[8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01],
         [-2.76742510726862411e-03 * days, 4.99852801234917238e-03 * days, 2.30417297573763929e-05 * days],
         2.85885980666130812e-04 * solar],
        [[1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01],
         [2.96460137564761618e-03 * days, 2.37847173959480950e-03 * days, -2.96589568540237556e-05 * days],
         4.36624404335156298e-05 * solar],
        [[1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01],
         [2.68067772490389322e-03 * days, 1.62824170038242295e-03 * days, -9.51592254519715870e-05 * days],
         5.15138902046611451e-05 * solar]]
    pairs = [(bodies[i], bodies[j]) for i in range(5) for j in range(i + 1, 5)]
    dt = 0.01
    for _ in range(n):
        for (([x1, y1, z1], v1, m1), ([x2, y2, z2], v2, m2)) in pairs:
            dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
            mag = dt * ((dx * dx + dy * dy + dz * dz) ** (-1.5))
            b1m, b2m = m1 * mag, m2 * mag
            v1[0] -= dx * b2m
            v1[1] -= dy * b2m
            v1[2] -= dz * b2m
            v2[0] += dx * b1m
            v2[1] += dy * b1m
            v2[2] += dz * b1m
        for (r, [vx, vy, vz], m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz
    return bodies[0][0][0]


class Task:
    # a small scheduler of cooperating tasks and queues, in the manner of Richards
    def __init__(self, ident, priority, work):
        self.ident, self.priority, self.work, self.queue, self.count = ident, priority, work, [], 0


def richards(rounds=200_000):
    tasks = [Task(i, p, w) for i, (p, w) in enumerate([(5, 3), (4, 7), (3, 2), (2, 11), (1, 5)])]
    total = 0
    for r in range(rounds):
        tasks.sort(key=lambda t: (-t.priority, t.count))
        for t in tasks:
            t.queue.append(r % t.work)
            if len(t.queue) > 4:
                total += sum(t.queue)
                t.queue.clear()
            t.count += 1
            t.priority = (t.priority * 7 + r) % 11
        msg = {t.ident: t.count for t in tasks}
        total += len(msg)
    return total


def json_(n=250):
    import json
    doc = {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i)], "score": i * 1.5,
                      "active": i % 2 == 0, "friends": list(range(i % 10))} for i in range(400)]}
    for _ in range(n):
        text = json.dumps(doc)
        assert json.loads(text) == doc
    return len(text)


def regex(n=40):
    import re
    words = " ".join(f"word{i} key={i * 7} mail{i}@example.org 2026-12-{i % 28 + 1:02d}" for i in range(2000))
    pattern = re.compile(r"(\w+)@(\w+)\.org|key=(\d+)|(\d{4})-(\d{2})-(\d{2})")
    found = 0
    for _ in range(n):
        found += len(pattern.findall(words))
        found += len(re.sub(r"word(\d+)", r"W\1", words))
    return found


def sort_strings(n=200_000):
    import random
    rng = random.Random(42)
    items = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12)) for _ in range(n)]
    items.sort()
    return items[0]


def import_():
    import argparse, asyncio, decimal, email.mime.multipart, email.parser, http.client  # noqa: F401
    # no sqlite3: WASI builds have no _sqlite3, and every build runs the same set
    import dataclasses, json, logging.handlers, pathlib, statistics, tomllib, typing, unittest, urllib.parse  # noqa: F401,E501
    import zipfile  # noqa: F401
    return len(sys.modules)


WORKLOADS = {"nbody": nbody, "richards": richards, "json": json_, "regex": regex,
             "sort_strings": sort_strings, "import": import_}

if __name__ == "__main__":
    name = sys.argv[1]
    repeat = 1 if name == "import" else int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        WORKLOADS[name]()
        times.append(time.perf_counter() - start)
    print(name, " ".join(f"{t:.4f}" for t in times))

"""Reference values for OnlineKMeans with decay a = 1 against scikit-learn's MiniBatchKMeans.

MiniBatchKMeans.partial_fit with an explicit `init` array and n_init=1 starts from exactly those
centers with per-center counts of zero, and each call runs `_mini_batch_step`: labels against the
current centers, then for every center j with assigned weight
    c_j <- (c_j * counts_j + sum_i w_i x_i) / (counts_j + sum_i w_i),  counts_j += sum_i w_i.
reassignment_ratio=0 turns off the random reassignment of low-count centers, so the run is the
plain weighted online mean that OnlineKMeans computes with decay unit 'none' and recovery off.

Points and weights are drawn as float32 and written as the float64 value of each float32, so
the TypeScript test feeds bit-identical inputs. Run from the repository root:
    python3 scripts/reference/minibatch-kmeans.py
It writes test/fixtures/reference/minibatch-kmeans.json.
"""

import json
import pathlib

import numpy as np
import sklearn
from sklearn.cluster import MiniBatchKMeans

K, DIM, BATCHES, BATCH_SIZE = 4, 5, 8, 64
rng = np.random.default_rng(20240611)

means = rng.normal(0.0, 3.0, size=(K, DIM))
init = (means + rng.normal(0.0, 1.0, size=(K, DIM))).astype(np.float32).astype(np.float64)


def batch(weighted):
    comp = rng.integers(0, K, size=BATCH_SIZE)
    x = (means[comp] + rng.normal(0.0, 1.0, size=(BATCH_SIZE, DIM))).astype(np.float32)
    w = rng.uniform(0.25, 2.0, size=BATCH_SIZE).astype(np.float32) if weighted else None
    return x.astype(np.float64), None if w is None else w.astype(np.float64)


model = MiniBatchKMeans(
    n_clusters=K,
    init=init,
    n_init=1,
    batch_size=BATCH_SIZE,
    reassignment_ratio=0.0,
    random_state=0,
)

steps = []
for b in range(BATCHES):
    # Odd batches carry sample weights, so both the unweighted and the weighted rule are pinned.
    x, w = batch(weighted=b % 2 == 1)
    labels_before = None if b == 0 else model.predict(x).tolist()
    model.partial_fit(x, sample_weight=w)
    steps.append(
        {
            "points": x.ravel().tolist(),
            "weights": None if w is None else w.tolist(),
            "labels": labels_before,
            "centers": model.cluster_centers_.ravel().tolist(),
            "counts": model._counts.tolist(),
        }
    )

out = {
    "generator": "scripts/reference/minibatch-kmeans.py",
    "sklearn": sklearn.__version__,
    "k": K,
    "dim": DIM,
    "init": init.ravel().tolist(),
    "steps": steps,
}
path = pathlib.Path("test/fixtures/reference/minibatch-kmeans.json")
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {path}: {BATCHES} batches of {BATCH_SIZE}, k={K}, dim={DIM}")
print("final centers:", np.array2string(model.cluster_centers_, precision=6))
print("final counts:", model._counts)

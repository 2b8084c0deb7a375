"""scikit-learn baselines for the evaluation benchmark (bench/eval.ts).

For digits, wine and the synthetic drifting stream (test/fixtures/datasets/*.csv, features as
they are in the file, k = the number of distinct labels):
- MiniBatchKMeans fed with partial_fit in file order, batches of 256 (streamclust's default
  batch.size), for 5 passes; scored prequentially like streamclust's replay: each batch is
  predicted with the model as it was before that batch's partial_fit (the very first batch,
  before any model exists, is fitted first and then predicted). Passes 1 and 5 are reported.
- KMeans (batch, n_init=10) fit_predict on all records.
Metrics: NMI (arithmetic), ARI, and clustering accuracy with Hungarian matching.

Run: python3 scripts/reference/eval-baselines.py [--stdout]
Writes test/fixtures/reference/eval-baselines.json (committed; the benchmark falls back to it
when Python or scikit-learn is missing), or prints the JSON with --stdout.
"""
import json
import pathlib
import sys

import numpy as np
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATASETS = ["digits", "wine", "synthetic-drift"]
BATCH = 256
PASSES = 5
SEED = 0


def load(name):
    data = np.loadtxt(ROOT / "test" / "fixtures" / "datasets" / f"{name}.csv", delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(int)


def accuracy(y, pred):
    classes, y_codes = np.unique(y, return_inverse=True)
    clusters, p_codes = np.unique(pred, return_inverse=True)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (y_codes, p_codes), 1)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / len(y)


def scores(y, pred):
    return {
        "nmi": normalized_mutual_info_score(y, pred),
        "ari": adjusted_rand_score(y, pred),
        "accuracy": accuracy(y, pred),
    }


def minibatch_prequential(x, y, k):
    model = MiniBatchKMeans(n_clusters=k, batch_size=BATCH, random_state=SEED, n_init=3)
    per_pass = []
    for _ in range(PASSES):
        pred = np.empty(len(y), dtype=int)
        for start in range(0, len(y), BATCH):
            batch = x[start : start + BATCH]
            if not hasattr(model, "cluster_centers_"):
                model.partial_fit(batch)
            pred[start : start + BATCH] = model.predict(batch)
            model.partial_fit(batch)
        per_pass.append(scores(y, pred))
    return per_pass


def main():
    results = {
        "sklearn": sklearn.__version__,
        "batchSize": BATCH,
        "passes": PASSES,
        "seed": SEED,
        "datasets": {},
    }
    for name in DATASETS:
        x, y = load(name)
        k = len(np.unique(y))
        mbk = minibatch_prequential(x, y, k)
        kmeans = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit_predict(x)
        results["datasets"][name] = {
            "n": len(y),
            "dim": x.shape[1],
            "k": k,
            "miniBatchKMeans": {"pass1": mbk[0], f"pass{PASSES}": mbk[-1]},
            "kMeans": scores(y, kmeans),
        }
    text = json.dumps(results, indent=2) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        out = ROOT / "test" / "fixtures" / "reference" / "eval-baselines.json"
        out.write_text(text)
        print(f"wrote {out}")


main()

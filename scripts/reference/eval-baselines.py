"""scikit-learn baselines for the evaluation benchmark (bench/eval.ts).

For each data set of test/fixtures/datasets (digits, wine, the synthetic drifting stream, iris,
breast cancer; k = the number of distinct labels), for each seed in SEEDS:
- MiniBatchKMeans fed with partial_fit in file order, batches of 256 (streamclust's default
  batch.size), for 5 passes, on the raw features and on features standardised with the mean
  and standard deviation of the first 1,000 records (what a streaming user can know early);
  scored prequentially like streamclust's replay: each batch is predicted with the model as it
  was before that batch's partial_fit (the very first batch, before any model exists, is fitted
  first and then predicted). Passes 1 and 5 are reported.
- KMeans (batch, n_init=10) fit_predict on all raw records, the offline reference.
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
DATASETS = ["digits", "wine", "synthetic-drift", "iris", "breast-cancer"]
BATCH = 256
PASSES = 5
SEEDS = [0, 1, 2]
SCALE_RECORDS = 1000


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


def standardised(x):
    head = x[:SCALE_RECORDS]
    std = head.std(axis=0)
    return (x - head.mean(axis=0)) / np.where(std > 0, std, 1.0)


def minibatch_prequential(x, y, k, seed):
    model = MiniBatchKMeans(n_clusters=k, batch_size=BATCH, random_state=seed, n_init=3)
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
        "seeds": SEEDS,
        "datasets": {},
    }
    for name in DATASETS:
        x, y = load(name)
        k = len(np.unique(y))
        entry = {"n": len(y), "dim": x.shape[1], "k": k, "runs": {}}
        for label, features in (("miniBatchKMeans", x), ("miniBatchKMeansScaled", standardised(x))):
            runs = []
            for seed in SEEDS:
                per_pass = minibatch_prequential(features, y, k, seed)
                runs.append({"pass1": per_pass[0], f"pass{PASSES}": per_pass[-1]})
            entry["runs"][label] = runs
        entry["runs"]["kMeans"] = [
            {"all": scores(y, KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x))}
            for seed in SEEDS
        ]
        results["datasets"][name] = entry
    text = json.dumps(results, indent=2) + "\n"
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        out = ROOT / "test" / "fixtures" / "reference" / "eval-baselines.json"
        out.write_text(text)
        print(f"wrote {out}")


main()

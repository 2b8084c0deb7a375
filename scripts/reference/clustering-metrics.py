"""Writes the reference cases for src/eval/metrics (scikit-learn's and SciPy's answers).

Run: python3 scripts/reference/clustering-metrics.py  (needs scikit-learn 1.9, SciPy, NumPy; the
output test/fixtures/reference/clustering-metrics.json is committed, so nothing at run time or test
time depends on Python). Every case is seeded, so a rerun with the same library versions rewrites
the same file.

Where a library has no function, the script says how the value is made:
- purity is not in scikit-learn: sum of the column maxima of
  sklearn.metrics.cluster.contingency_matrix, divided by n;
- clustering accuracy: scipy.optimize.linear_sum_assignment(maximize=True) on that contingency
  matrix, matched total divided by n;
- inertia against the cluster means: NumPy, sum of squared distances to each cluster's mean;
  inertia against given centroids: KMeans(...).fit(X).inertia_ with its labels_ and
  cluster_centers_.

An expected value of {"error": "..."} records that scikit-learn raised (the TypeScript side must
throw MetricUndefinedError there instead of returning a number).
"""
import json
import pathlib

import numpy as np
import scipy
import sklearn
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    homogeneity_completeness_v_measure,
    normalized_mutual_info_score,
    silhouette_score,
)
from sklearn.metrics.cluster import contingency_matrix

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "reference"
AVERAGES = ["arithmetic", "geometric", "min", "max"]
BETAS = [1.0, 0.5, 2.0]


def guarded(fn):
    """Runs fn, recording scikit-learn's ValueError as an expected error instead of a value."""
    try:
        return fn()
    except ValueError as e:
        return {"error": str(e)}


def purity(t, p):
    if len(t) == 0:
        return {"error": "purity is undefined for 0 samples"}
    c = contingency_matrix(t, p)
    return float(c.max(axis=0).sum() / len(t))


def accuracy(t, p):
    if len(t) == 0:
        return {"error": "clustering accuracy is undefined for 0 samples"}
    c = contingency_matrix(t, p)
    rows, cols = linear_sum_assignment(c, maximize=True)
    return float(c[rows, cols].sum() / len(t))


def supervised(t, p):
    t = np.asarray(t, dtype=np.int64)
    p = np.asarray(p, dtype=np.int64)
    hcv = {}
    for beta in BETAS:
        h, c, v = homogeneity_completeness_v_measure(t, p, beta=beta)
        hcv[repr(beta)] = {"homogeneity": h, "completeness": c, "vMeasure": v}
    return {
        "nmi": {m: normalized_mutual_info_score(t, p, average_method=m) for m in AVERAGES},
        "ari": float(adjusted_rand_score(t, p)),
        "purity": purity(t, p),
        "clusteringAccuracy": accuracy(t, p),
        "homogeneityCompletenessVMeasure": hcv,
    }


def means_inertia(x, labels):
    total = 0.0
    for k in np.unique(labels):
        members = x[labels == k]
        total += float(((members - members.mean(axis=0)) ** 2).sum())
    return total


def unsupervised(x, labels, metrics=("euclidean", "cosine")):
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    return {
        "silhouette": {m: guarded(lambda m=m: float(silhouette_score(x, labels, metric=m))) for m in metrics},
        "daviesBouldin": guarded(lambda: float(davies_bouldin_score(x, labels))),
        "calinskiHarabasz": guarded(lambda: float(calinski_harabasz_score(x, labels))),
        "inertia": means_inertia(x, labels),
    }


point_cases = []
label_cases = []


def add_points_case(name, x, labels, note, float32_exact=False):
    x = np.asarray(x, dtype=np.float64)
    labels = [int(v) for v in labels]
    point_cases.append(
        {
            "name": name,
            "note": note,
            "points": x.tolist(),
            "labels": labels,
            "float32Exact": float32_exact,
            "expected": unsupervised(x, labels),
        }
    )


def add_label_case(name, t, p, note):
    label_cases.append(
        {
            "name": name,
            "note": note,
            "labelsTrue": [int(v) for v in t],
            "labelsPred": [int(v) for v in p],
            "expected": supervised(t, p),
        }
    )


# Blobs of a few sizes and dimensions. True labels come from make_blobs, predicted ones from a
# KMeans that is deliberately given a different k, so true and pred disagree in a realistic way.
rng = np.random.default_rng(20240611)
for n, dim, k_true, k_pred, std in [(30, 2, 3, 3, 1.5), (120, 5, 4, 6, 2.5), (400, 8, 6, 5, 3.0)]:
    x, y = make_blobs(n_samples=n, n_features=dim, centers=k_true, cluster_std=std, random_state=n)
    km = KMeans(n_clusters=k_pred, n_init=3, random_state=n).fit(x)
    add_points_case(f"blobs n={n} d={dim} true labels", x, y, "make_blobs, its own labels")
    add_points_case(f"blobs n={n} d={dim} kmeans labels", x, km.labels_, "KMeans labels")
    point_cases[-1]["kmeans"] = {"centroids": km.cluster_centers_.tolist(), "inertia": float(km.inertia_)}
    add_label_case(f"blobs n={n} true vs kmeans k={k_pred}", y, km.labels_, "unequal label counts")

# Points on a 1/256 grid are exact in float32, so the flat Float32Array input can be checked too.
x, y = make_blobs(n_samples=60, n_features=3, centers=3, cluster_std=1.0, random_state=7)
add_points_case("float32-exact blobs", np.round(x * 256) / 256, y, "grid of 1/256", float32_exact=True)

# Negative, sparse label values: metrics must depend only on the partition, not on the values.
x, y = make_blobs(n_samples=50, n_features=4, centers=4, cluster_std=2.0, random_state=11)
sparse_values = np.array([-7, 3, 1000, -1])
add_points_case("negative and sparse labels", x, sparse_values[y], "labels -7, 3, 1000, -1")

# Singleton clusters next to bigger ones: their silhouette is 0 by scikit-learn's definition.
x = rng.normal(size=(12, 2))
add_points_case("some singleton clusters", x, [0, 0, 0, 0, 1, 1, 1, 1, 2, 3, 4, 4], "3 is alone")

# Integer points, identical within each cluster: Calinski-Harabasz's intra dispersion is 0 (sklearn
# returns 1.0), Davies-Bouldin's intra distances are all 0 (returns 0.0), silhouette is 1.
add_points_case(
    "identical points within clusters",
    [[0, 0], [0, 0], [0, 0], [3, 4], [3, 4], [-1, 2], [-1, 2]],
    [5, 5, 5, 9, 9, 2, 2],
    "integer coordinates, so scikit-learn's distances are exact",
)
# A point duplicated across two clusters: silhouette hits 0/0 for it and scikit-learn maps it to 0.
add_points_case(
    "duplicates across clusters",
    [[0, 0], [0, 0], [1, 0], [1, 0], [0, 0], [2, 2]],
    [0, 0, 0, 1, 1, 1],
    "integer coordinates",
)
# A zero vector under the cosine metric: scikit-learn's cosine distance to it is 1 (similarity 0).
add_points_case(
    "cosine with a zero vector",
    [[0, 0], [1, 1], [1, 0], [0, 0], [2, 2], [0, 3], [-1, 2]],
    [0, 0, 1, 1, 1, 2, 2],
    "zero vectors",
)

# Davies-Bouldin returns 0 when all centroids are within numpy.isclose's 1e-8 of each other, even
# if they are not exactly equal (here 1e-9 apart).
add_points_case(
    "centroids closer than 1e-8",
    [[-1.0], [1.0], [-2.0], [2.000000002]],
    [0, 0, 1, 1],
    "numpy.isclose(distance, 0)",
)
add_points_case(
    "coinciding centroids",
    [[-1, 0], [1, 0], [-2, 0], [2, 0], [0, -3], [0, 3]],
    [0, 0, 1, 1, 2, 2],
    "every centroid at the origin",
)

# Degenerate cluster counts: scikit-learn raises for all three unsupervised scores.
x = rng.normal(size=(10, 3))
add_points_case("one cluster", x, [4] * 10, "every point in cluster 4")
add_points_case("all singletons", x, list(range(10)), "n clusters for n points")
add_points_case("two points two clusters", x[:2], [0, 1], "n_labels = n_samples")
add_points_case("one point", x[:1], [0], "n_samples = 1")
add_points_case("n - 1 clusters", x, [0, 0, 1, 2, 3, 4, 5, 6, 7, 8], "upper edge, defined")

# Label-only cases.
t = rng.integers(0, 4, size=40)
perm = np.array([2, 0, 3, 1])
add_label_case("label permutation", t, perm[t], "pred is a relabelling of true")
add_label_case("permutation to sparse values", t, np.array([-5, 17, 0, 99])[t], "relabelled")
add_label_case("one cluster both", [1] * 9, [3] * 9, "both constant")
add_label_case("one cluster true only", [0] * 9, rng.integers(0, 3, size=9), "true constant")
add_label_case("one cluster pred only", rng.integers(0, 3, size=9), [7] * 9, "pred constant")
add_label_case("all singletons both", list(range(8)), list(range(10, 18)), "n classes, n clusters")
add_label_case("singletons vs constant", list(range(8)), [0] * 8, "")
add_label_case("blobs vs singletons", np.repeat([0, 1, 2], 4), np.arange(12), "")
add_label_case("one sample", [3], [-2], "")
add_label_case("empty", [], [], "scikit-learn returns 1.0 for NMI, ARI and V-measure")
add_label_case("negative labels", [-1, -1, -2, -2, -3, 0], [-9, -9, -9, 4, 4, 4], "")
add_label_case("more clusters than classes", rng.integers(0, 3, 60), rng.integers(0, 7, 60), "")
add_label_case("more classes than clusters", rng.integers(0, 8, 60), rng.integers(0, 2, 60), "")
add_label_case("independent labels", rng.integers(0, 5, 200), rng.integers(0, 5, 200), "ARI < 0?")
# Past 2^53 / n^2 pair counts the ARI products no longer fit in a double exactly.
t = rng.integers(0, 3, 30000)
p = np.where(rng.random(30000) < 0.8, t, rng.integers(0, 4, 30000))
add_label_case("large n pair counts", t, p, "tp * tn exceeds 2^53")

# Linear sum assignment totals from SciPy, for the Hungarian implementation on its own.
assignments = []
for rows, cols, kind in [
    (1, 1, "float"),
    (3, 3, "float"),
    (5, 5, "int"),
    (4, 7, "float"),
    (7, 4, "float"),
    (10, 10, "int"),
    (12, 30, "int"),
    (25, 25, "float"),
    (40, 33, "float"),
    (6, 6, "ties"),
]:
    if kind == "float":
        m = rng.normal(scale=10.0, size=(rows, cols))
    elif kind == "int":
        m = rng.integers(-20, 50, size=(rows, cols)).astype(np.float64)
    else:
        m = rng.integers(0, 2, size=(rows, cols)).astype(np.float64)
    entry = {"name": f"{rows}x{cols} {kind}", "cost": m.tolist()}
    for maximize in (False, True):
        r, c = linear_sum_assignment(m, maximize=maximize)
        entry["maximize" if maximize else "minimize"] = float(m[r, c].sum())
    assignments.append(entry)

OUT.mkdir(parents=True, exist_ok=True)
doc = {
    "generator": "scripts/reference/clustering-metrics.py",
    "versions": {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
    "pointCases": point_cases,
    "labelCases": label_cases,
    "linearSumAssignment": assignments,
}
with open(OUT / "clustering-metrics.json", "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")

for case in point_cases + label_cases:
    print(case["name"], json.dumps(case["expected"])[:160])
for entry in assignments:
    print("lsa", entry["name"], entry["minimize"], entry["maximize"])

"""Writes the data sets shipped as fixtures (scikit-learn's digits, wine, iris and breast cancer,
all four shipped inside the scikit-learn package) as CSV.

Run: python3 scripts/reference/make-datasets.py  (needs scikit-learn; the output is committed,
so nothing at run time depends on Python). Columns: f0..f{d-1}, then `label`.
"""
import csv
import pathlib

from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

OUT = pathlib.Path(__file__).resolve().parents[2] / "test" / "fixtures" / "datasets"


def write(name, bunch):
    OUT.mkdir(parents=True, exist_ok=True)
    x, y = bunch.data, bunch.target
    with open(OUT / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"f{i}" for i in range(x.shape[1])] + ["label"])
        for row, label in zip(x, y):
            w.writerow([repr(float(v)) if not float(v).is_integer() else int(v) for v in row] + [int(label)])
    print(f"{name}: {x.shape[0]} x {x.shape[1]}, {len(set(y))} classes")


write("digits", load_digits())
write("wine", load_wine())
write("iris", load_iris())
write("breast-cancer", load_breast_cancer())

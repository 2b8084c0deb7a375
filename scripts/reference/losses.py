"""Reference values for the clustering losses (src/losses), computed by brute force in numpy.

Run: python3 scripts/reference/losses.py > test/fixtures/reference/losses.json
The output is committed; the tests read it, so nothing at run time depends on Python.

Everything here is written from the formulas directly (explicit loops over pairs and
triplets, float64), independently of the TypeScript implementation.
"""
import json

import numpy as np

rng = np.random.default_rng(20240531)
N, D, K = 12, 5, 3
labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4])
x = rng.normal(size=(N, D))
centroids = rng.normal(size=(K, D)) * 0.5
logits = rng.normal(size=(N, K)) * 2
pseudo = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
sizes = np.array([40.0, 9.0, 4.0])
scores = rng.normal(size=(N, K))

z = x / np.linalg.norm(x, axis=1, keepdims=True)


def dist(a, b, metric):
    if metric == "euclidean":
        return float(np.sqrt(np.sum((a - b) ** 2)))
    if metric == "squared":
        return float(np.sum((a - b) ** 2))
    return float(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def matrix(metric):
    return np.array([[dist(z[i], z[j], metric) for j in range(N)] for i in range(N)])


out = {"labels": labels.tolist(), "x": x.tolist(), "centroids": centroids.tolist()}
for m in ["euclidean", "squared", "cosine"]:
    out[f"distances_{m}"] = matrix(m).tolist()

d = matrix("euclidean")
margin = 0.3


def triplets():
    for a in range(N):
        for p in range(N):
            if p == a or labels[p] != labels[a]:
                continue
            for n in range(N):
                if labels[n] != labels[a]:
                    yield a, p, n


hinge = lambda a, p, n: max(0.0, d[a, p] - d[a, n] + margin)
all_terms = [hinge(*t) for t in triplets()]
out["triplet_all_count"] = len(all_terms)
out["triplet_all_mean"] = float(np.mean(all_terms))
out["triplet_all_mean_nonzero"] = float(np.sum(all_terms) / np.count_nonzero(all_terms))
out["triplet_hard_count"] = sum(1 for a, p, n in triplets() if d[a, n] < d[a, p])
out["triplet_easy_count"] = sum(1 for a, p, n in triplets() if d[a, n] > d[a, p] + margin)

bh, bh_soft = [], []
for a in range(N):
    pos = [j for j in range(N) if j != a and labels[j] == labels[a]]
    neg = [j for j in range(N) if labels[j] != labels[a]]
    if not pos or not neg:
        continue
    dp = max(d[a, j] for j in pos)
    dn = min(d[a, j] for j in neg)
    bh.append(max(0.0, dp - dn + margin))
    bh_soft.append(float(np.log1p(np.exp(dp - dn))))
out["triplet_batch_hard_mean"] = float(np.mean(bh))
out["triplet_batch_hard_soft_mean"] = float(np.mean(bh_soft))
out["triplet_batch_hard_anchors"] = len(bh)

semi_drop, semi_far = [], []
for a in range(N):
    neg = [j for j in range(N) if labels[j] != labels[a]]
    for p in range(N):
        if p == a or labels[p] != labels[a] or not neg:
            continue
        window = [d[a, j] for j in neg if d[a, p] < d[a, j] < d[a, p] + margin]
        if window:
            t = max(0.0, d[a, p] - min(window) + margin)
            semi_drop.append(t)
            semi_far.append(t)
        else:
            semi_far.append(max(0.0, d[a, p] - max(d[a, j] for j in neg) + margin))
out["triplet_semi_hard_drop_count"] = len(semi_drop)
out["triplet_semi_hard_drop_mean"] = float(np.mean(semi_drop))
out["triplet_semi_hard_farthest_count"] = len(semi_far)
out["triplet_semi_hard_farthest_mean"] = float(np.mean(semi_far))

cm = 0.8
terms = []
for i in range(N):
    for j in range(i + 1, N):
        y = 1.0 if labels[i] == labels[j] else 0.0
        terms.append(y * d[i, j] ** 2 + (1 - y) * max(0.0, cm - d[i, j]) ** 2)
out["contrastive_margin"] = cm
out["contrastive_all_mean"] = float(np.mean(terms))
out["contrastive_pairs"] = len(terms)

# k-means loss on the raw (unnormalised) x against the centroids.
sq = np.array([[np.sum((x[i] - centroids[j]) ** 2) for j in range(K)] for i in range(N)])
out["kmeans_mean"] = float(np.mean(sq.min(axis=1)))

# DEC with alpha = 1 and alpha = 2.5, f = the batch's soft frequency (first call: no EMA yet).
for alpha in [1.0, 2.5]:
    q = (1 + sq / alpha) ** (-(alpha + 1) / 2)
    q = q / q.sum(axis=1, keepdims=True)
    f = q.mean(axis=0)
    p = q**2 / f
    p = p / p.sum(axis=1, keepdims=True)
    out[f"dec_alpha_{alpha}_q"] = q.tolist()
    out[f"dec_alpha_{alpha}_p"] = p.tolist()
    out[f"dec_alpha_{alpha}_loss"] = float(np.sum(p * np.log(p / q)) / N)
    out[f"dec_alpha_{alpha}_frequencies"] = f.tolist()

# Sinkhorn-Knopp as in SwAV's distributed_sinkhorn (columns, then rows; times N at the end).
def sk(s, eps, iters):
    Q = np.exp(s / eps).T  # K x N
    Q /= Q.sum()
    for _ in range(iters):
        Q /= Q.sum(axis=1, keepdims=True)
        Q /= K
        Q /= Q.sum(axis=0, keepdims=True)
        Q /= N
    return (Q * N).T


out["sinkhorn_scores"] = scores.tolist()
q1 = np.array(out["dec_alpha_1.0_q"])
p_sk = sk(np.log(q1), 0.5, 3)
out["dec_sinkhorn_target"] = p_sk.tolist()
out["dec_sinkhorn_loss"] = float(np.sum(p_sk * np.log(p_sk / q1)) / N)
out["sinkhorn_eps_0.5_iters_3"] = sk(scores, 0.5, 3).tolist()
out["sinkhorn_eps_0.5_iters_200"] = sk(scores, 0.5, 200).tolist()

ls = logits - logits.max(axis=1, keepdims=True)
logp = ls - np.log(np.exp(ls).sum(axis=1, keepdims=True))
ce = -logp[np.arange(N), pseudo]
w = sizes[pseudo] ** -0.5
out["logits"] = logits.tolist()
out["pseudo"] = pseudo.tolist()
out["sizes"] = sizes.tolist()
out["deep_cluster_none"] = float(ce.mean())
out["deep_cluster_inverse_sqrt_store"] = float(np.sum(w * ce) / np.sum(w))
counts = np.bincount(pseudo, minlength=K).astype(float)
wb = counts[pseudo] ** -0.5
out["deep_cluster_inverse_sqrt_batch"] = float(np.sum(wb * ce) / np.sum(wb))

print(json.dumps(out, indent=1))

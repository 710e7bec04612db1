"""Benchmark the retrieval index and token merging.

    python scripts/bench_retrieval.py --repo PATH [--repo PATH ...] [--corpus FILE ...]
        [--sizes 100000 1000000] [--queries 200] [--eval-queries 200] [--merge-layers 0 2]
        [--skip-scale] [--skip-merging] [--json FILE]

Scale (synthetic, one subprocess per configuration so peak memory is its own): N code-like
pairs with clustered 384-d unit vectors (real embeddings cluster; uniform noise would make
IVF look worse than it is). Reports build time (add + save: FAISS, BM25, pairs on disk),
peak RSS while building, load time and RSS after a memory-mapped load plus the queries,
hybrid query latency (k=10, vector given: encoding is measured separately below) and the
dense side's recall@10 against exact search.

Token merging (real pairs mined from the --repo histories and/or read from --corpus, encoded
with all-MiniLM-L6-v2): tokens and FLOPs per input with and without merging, encoding
throughput (best of 3 interleaved rounds on 300 pairs), and recall@10 of two retrieval tasks:
  fixed->buggy  query with a pair's fixed code, find the pair (a near-duplicate lookup);
  renamed       query with a pair's buggy code with every non-keyword name replaced
                (v0, v1, ...), find the pair: the bug pattern, not the names, must match.
"""

from __future__ import annotations

import argparse
import builtins
import json
import keyword
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.corpus import BugFixPair, read_corpus  # noqa: E402
from retrieval.dense import DensePolicy  # noqa: E402
from retrieval.index import HybridIndex  # noqa: E402

DIM = 384
WORDS = [
    "items", "total", "index", "value", "count", "name", "user", "price", "cart", "node", "left", "right",
    "result", "buffer", "size", "offset", "key", "map", "list", "queue", "parse", "read", "write", "token",
    "config", "path", "file", "line", "state", "error", "limit", "range", "start", "end", "low", "high",
]
OPERATORS = ["=", "+", "-", "<", "<=", ">", ">=", "==", "!=", "+=", "*", "/", "(", ")", "[", "]", ".", ":"]


# --- scale -------------------------------------------------------------------------------

def synthetic_pairs(n: int, seed: int) -> list[BugFixPair]:
    """Code-like token soup: ~24 tokens, identifiers from a Zipf-ish vocabulary of ~36k
    names (camelCase compounds), so BM25 posting lists are as skewed as in real code."""
    rng = np.random.default_rng(seed)
    names = [a + b.capitalize() for a in WORDS for b in WORDS] + WORDS
    names = [f"{name}{i}" if i else name for i in range(27) for name in names][:36_000]
    weights = 1.0 / np.arange(1, len(names) + 1)
    picks = rng.choice(len(names), size=(n, 16), p=weights / weights.sum())
    ops = rng.integers(0, len(OPERATORS), size=(n, 8))
    pairs = []
    for i in range(n):
        tokens = [names[j] for j in picks[i]]
        body = " ".join(f"{tokens[2 * t]} {OPERATORS[ops[i, t]]} {tokens[2 * t + 1]}" for t in range(8))
        pairs.append(BugFixPair(buggy=f"{body} # {i}\n", fixed=f"{body} + 1 # {i}\n",
                                language="python" if i % 4 else "java"))
    return pairs


def clustered_vectors(n: int, seed: int, clusters: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        end = min(start + 100_000, n)
        chunk = centres[rng.integers(0, clusters, end - start)]
        chunk += 0.6 * rng.standard_normal((end - start, DIM), dtype=np.float32)
        vectors[start:end] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 1e6


def scale_worker(size: int, kind: str, queries: int) -> dict:
    """One configuration in a fresh process: build, save, reload mapped, query."""
    pairs = synthetic_pairs(size, seed=1)
    vectors = clustered_vectors(size, seed=2)
    baseline = rss_mb()
    policy = DensePolicy(exact_max=size if kind == "flat" else 50_000, large=kind if kind != "flat" else "ivf")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "index"
        start = time.perf_counter()
        index = HybridIndex("synthetic", DIM, policy=policy)
        index.add(pairs, vectors=vectors)
        added = time.perf_counter() - start
        index.save(directory)
        build = time.perf_counter() - start
        build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
        disk = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 1e6
        del index
        rng = np.random.default_rng(3)
        chosen = rng.choice(size, queries, replace=False)
        noisy = vectors[chosen] + 0.05 * rng.standard_normal((queries, DIM), dtype=np.float32)
        noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
        texts = [" ".join(t for t in pairs[i].buggy.split()[:-2] if rng.random() > 0.3) for i in chosen]
        exact = np.argsort(-(noisy @ vectors.T), axis=1)[:, :10]
        del pairs, vectors
        before_load = rss_mb()
        start = time.perf_counter()
        loaded = HybridIndex.load(directory, policy=policy)
        load = time.perf_counter() - start
        loaded.search(texts[0], k=10, vector=noisy[0])  # first query maps pages in; not timed
        latencies, dense_latencies, filtered, recall = [], [], [], []
        for i in range(queries):
            start = time.perf_counter()
            loaded.search(texts[i], k=10, vector=noisy[i])
            latencies.append(time.perf_counter() - start)
            start = time.perf_counter()
            _, ids = loaded.dense.search(noisy[i], 10)
            dense_latencies.append(time.perf_counter() - start)
            recall.append(len(set(ids.tolist()) & set(exact[i].tolist())) / 10)
            start = time.perf_counter()
            loaded.search(texts[i], language="java", k=10, vector=noisy[i])
            filtered.append(time.perf_counter() - start)
        serve_rss = rss_mb() - before_load
    return {
        "size": size, "kind": kind, "add_s": added, "build_s": build, "disk_mb": disk,
        "build_peak_rss_mb": build_peak, "build_rss_over_data_mb": build_peak - baseline,
        "load_s": load, "serve_rss_mb": serve_rss,
        "p50_ms": 1e3 * statistics.median(latencies), "p99_ms": 1e3 * float(np.percentile(latencies, 99)),
        "dense_p50_ms": 1e3 * statistics.median(dense_latencies),
        "dense_p99_ms": 1e3 * float(np.percentile(dense_latencies, 99)),
        "filtered_p50_ms": 1e3 * statistics.median(filtered),
        "filtered_p99_ms": 1e3 * float(np.percentile(filtered, 99)),
        "dense_recall_at_10": float(np.mean(recall)),
    }


def run_scale(configurations: list[tuple[int, str]], queries: int) -> list[dict]:
    rows = []
    for size, kind in configurations:
        print(f"scale: {size} pairs, {kind} ...", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--scale-worker", str(size), kind, "--queries", str(queries)],
            check=True, capture_output=True, text=True,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    return rows


# --- token merging -----------------------------------------------------------------------

JAVA_KEYWORDS = set(
    "abstract assert boolean break byte case catch char class const continue default do double else enum "
    "extends final finally float for goto if implements import instanceof int interface long native new "
    "package private protected public return short static strictfp super switch synchronized this throw "
    "throws transient try void volatile while var true false null String Object".split()
)
PYTHON_KEYWORDS = set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}


def renamed(code: str, language: str) -> str:
    """Every name that is not a keyword or builtin replaced consistently by v0, v1, ..."""
    keep = PYTHON_KEYWORDS if language == "python" else JAVA_KEYWORDS
    names: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        word = match.group(0)
        if word in keep:
            return word
        return names.setdefault(word, f"v{len(names)}")

    return re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", rename, code)


def real_pairs(repos: list[Path], corpora: list[Path]) -> list[BugFixPair]:
    from retrieval.corpus import unique
    from retrieval.mining import mine_repository

    pairs: list[BugFixPair] = []
    for corpus in corpora:
        pairs.extend(read_corpus(corpus))
    for repo in repos:
        start = time.perf_counter()
        result = mine_repository(repo)
        print(f"mined {repo}: {result.commits_scanned} commits, {result.fix_commits} fixes, "
              f"{len(result.pairs)} pairs in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
        pairs.extend(result.pairs)
    return list(unique(pairs))


def recall_at_10(
    index: HybridIndex, corpus_vectors: np.ndarray, encoder, pairs: list[BugFixPair], targets: list[int],
    queries: list[str],
) -> tuple[float, float]:
    """(dense-only, hybrid) recall@10 of each query's target pair among pairs of its
    language; dense-only is exact search over `corpus_vectors`."""
    languages = [pairs[t].language for t in targets]
    vectors = encoder.encode(queries, languages)
    language_of = np.array([p.language for p in pairs])
    dense_hits = hybrid_hits = 0
    for target, query, language, vector in zip(targets, queries, languages, vectors, strict=True):
        scores = np.where(language_of == language, corpus_vectors @ vector, -np.inf)
        dense_hits += target in np.argsort(-scores)[:10]
        hybrid_hits += pairs[target] in [hit.pair for hit in index.search(query, language, 10, vector=vector)]
    return dense_hits / len(targets), hybrid_hits / len(targets)


def encoding_speed(encoders: dict[str, object], texts: list[str], languages: list[str], rounds: int = 3) -> dict:
    """Inputs per second of each encoder on the same texts: rounds interleave the encoders
    and the best round counts, so a burst of load elsewhere on the machine does not land on
    one setting only."""
    best = {label: float("inf") for label in encoders}
    for _ in range(rounds):
        for label, encoder in encoders.items():
            start = time.perf_counter()
            encoder.encode(texts, languages)  # type: ignore[attr-defined]
            best[label] = min(best[label], time.perf_counter() - start)
    return {label: len(texts) / seconds for label, seconds in best.items()}


def run_merging(pairs: list[BugFixPair], layers: list[int], eval_queries: int, speed_sample: int = 300) -> dict:
    from retrieval.encoders import TransformerEncoder

    rng = random.Random(0)
    targets = rng.sample(range(len(pairs)), min(eval_queries, len(pairs)))
    tasks = {
        "fixed->buggy": [pairs[t].fixed for t in targets],
        "renamed": [renamed(pairs[t].buggy, pairs[t].language) for t in targets],
    }
    texts = [p.buggy for p in pairs]
    languages = [p.language for p in pairs]
    encoders = {"off": TransformerEncoder()}
    encoders.update({f"after layer {k}": TransformerEncoder(token_merging=True, merge_after_layer=k) for k in layers})
    sample = rng.sample(range(len(pairs)), min(speed_sample, len(pairs)))
    print(f"encoding speed on {len(sample)} pairs ...", file=sys.stderr, flush=True)
    speed = encoding_speed(encoders, [texts[i] for i in sample], [languages[i] for i in sample])
    rows = []
    plain: tuple[HybridIndex, np.ndarray] | None = None
    for label, encoder in encoders.items():
        print(f"merging {label}: encoding {len(texts)} pairs ...", file=sys.stderr, flush=True)
        vectors, costs = encoder.encode_with_costs(texts, languages)
        index = HybridIndex.for_encoder(encoder)
        index.add(pairs, vectors=vectors)
        tokens = np.array([c.tokens for c in costs])
        merged = np.array([c.merged_tokens for c in costs])
        flops = np.array([c.flops for c in costs])
        merged_flops = np.array([c.merged_flops for c in costs])
        row = {
            "merging": label, "inputs": len(texts), "inputs_per_s": speed[label],
            "tokens_per_input": float(tokens.mean()), "merged_tokens_per_input": float(merged.mean()),
            "tokens_saved_mean_pct": float(100 * (1 - merged / tokens).mean()),
            "tokens_saved_median_pct": float(100 * np.median(1 - merged / tokens)),
            "gflops_per_input": float(flops.mean() / 1e9), "merged_gflops_per_input": float(merged_flops.mean() / 1e9),
            "flops_saved_mean_pct": float(100 * (1 - merged_flops / flops).mean()),
            "flops_saved_total_pct": float(100 * (1 - merged_flops.sum() / flops.sum())),
        }
        for task, queries in tasks.items():
            dense, hybrid = recall_at_10(index, vectors, encoder, pairs, targets, queries)
            row[f"{task} dense R@10"] = dense
            row[f"{task} hybrid R@10"] = hybrid
            if plain is not None:  # merged queries against the index built without merging
                cross = recall_at_10(*plain, encoder, pairs, targets, queries)[0]
                row[f"{task} merged-query/plain-index dense R@10"] = cross
        if label == "off":
            plain = (index, vectors)
        rows.append(row)
        print(f"  {row}", file=sys.stderr, flush=True)
    return {"pairs": len(pairs), "queries": len(targets), "speed_sample": len(sample), "rows": rows}


# --- report ------------------------------------------------------------------------------

def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    lines = ["| " + " | ".join(title for title, _, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = (format(row[key], spec) if key in row else "-" for _, key, spec in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--repo", type=Path, action="append", default=[])
    parser.add_argument("--corpus", type=Path, action="append", default=[])
    parser.add_argument("--eval-queries", type=int, default=200)
    parser.add_argument("--merge-layers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-merging", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--scale-worker", nargs=2, metavar=("SIZE", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_worker:
        print(json.dumps(scale_worker(int(args.scale_worker[0]), args.scale_worker[1], args.queries)))
        return

    report: dict = {}
    if not args.skip_scale:
        # Exact search only where it is the index's real choice or a useful baseline.
        configurations = [
            (size, kind) for size in args.sizes for kind in (["flat", "ivf"] if size <= 100_000 else ["ivf"])
        ]
        report["scale"] = run_scale(configurations, args.queries)
        print("\n## Index at scale (synthetic pairs, 384-d, k=10, 1 FAISS thread)\n")
        print(table(report["scale"], [
            ("pairs", "size", ","), ("dense", "kind", "s"), ("build s", "build_s", ".1f"),
            ("of which add s", "add_s", ".1f"), ("peak RSS MB", "build_peak_rss_mb", ",.0f"),
            ("disk MB", "disk_mb", ",.0f"), ("load s", "load_s", ".2f"),
            ("RSS after load+queries MB", "serve_rss_mb", ",.0f"),
            ("hybrid p50 ms", "p50_ms", ".1f"), ("hybrid p99 ms", "p99_ms", ".1f"),
            ("dense p50 ms", "dense_p50_ms", ".2f"), ("dense p99 ms", "dense_p99_ms", ".2f"),
            ("java-filtered p50 ms", "filtered_p50_ms", ".1f"),
            ("dense recall@10 vs exact", "dense_recall_at_10", ".3f"),
        ]))
    if not args.skip_merging:
        if not args.repo and not args.corpus:
            parser.error("token merging needs real pairs: pass --repo PATH (a git history) or --corpus FILE")
        pairs = real_pairs(args.repo, args.corpus)
        report["merging"] = run_merging(pairs, args.merge_layers, args.eval_queries)
        merging = report["merging"]
        print(f"\n## Token merging (all-MiniLM-L6-v2, {merging['pairs']} real pairs, {merging['queries']} queries)\n")
        print(table(merging["rows"], [
            ("merging", "merging", "s"), ("tokens/input", "tokens_per_input", ".1f"),
            ("merged", "merged_tokens_per_input", ".1f"), ("tokens saved %", "tokens_saved_mean_pct", ".1f"),
            ("GFLOPs/input", "gflops_per_input", ".2f"), ("merged", "merged_gflops_per_input", ".2f"),
            ("FLOPs saved % (mean)", "flops_saved_mean_pct", ".1f"),
            ("FLOPs saved % (total)", "flops_saved_total_pct", ".1f"),
            ("inputs/s", "inputs_per_s", ".1f"),
        ]))
        print()
        print(table(merging["rows"], [
            ("merging", "merging", "s"),
            ("fixed->buggy dense", "fixed->buggy dense R@10", ".3f"), ("hybrid", "fixed->buggy hybrid R@10", ".3f"),
            ("renamed dense", "renamed dense R@10", ".3f"), ("hybrid", "renamed hybrid R@10", ".3f"),
            ("merged queries on unmerged index: fixed->buggy dense",
             "fixed->buggy merged-query/plain-index dense R@10", ".3f"),
            ("renamed dense", "renamed merged-query/plain-index dense R@10", ".3f"),
        ]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""`repairbot index ...`: build, mine, query and inspect the retrieval index.

The commands import the retrieval stack (torch, FAISS, bm25s) inside their bodies: this
module is imported by every `repairbot` invocation, and `repairbot repair` should not pay
seconds of imports for commands it does not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from repairbot.errors import EXIT_BAD_INPUT
from repairbot.languages.registry import languages
from repairbot.text import printable

index_app = typer.Typer(
    help="The memory of bug fixes: build, mine, query and inspect the retrieval index.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console(soft_wrap=True, highlight=False)

IndexDir = Annotated[
    Optional[Path],
    typer.Option("--index-dir", help="Index directory (default: $REPAIRBOT_INDEX_DIR, else index/ in the data dir)."),
]


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(EXIT_BAD_INPUT)


@index_app.command()
def build(
    corpora: Annotated[list[Path], typer.Argument(metavar="CORPUS...", help="JSONL corpora of bug-fix pairs.")],
    index_dir: IndexDir = None,
    encoder: Annotated[Optional[str], typer.Option(
        help="all-MiniLM-L6-v2 or a local checkpoint path (default: the index's, else all-MiniLM-L6-v2).")] = None,
    token_merging: Annotated[Optional[bool], typer.Option(
        help="Merge identifier subtokens while encoding (default: the index's setting, else on).")] = None,
    merge_after_layer: Annotated[
        Optional[int], typer.Option(help="Layer after which to merge (0 = embeddings).")
    ] = None,
) -> None:
    """Add the pairs of CORPUS files to the index (creating it); duplicates are skipped."""
    from retrieval.corpus import CorpusError, read_corpus

    pairs = []
    problems: list[str] = []
    malformed = 0
    for corpus in corpora:
        try:
            pairs.extend(read_corpus(corpus))
        except CorpusError as exc:
            problems.extend(exc.problems)
            malformed += exc.count
    if malformed:
        raise _fail(f"{malformed} malformed line(s), nothing added:\n" + str(CorpusError(problems, malformed)))
    # Only now the encoder stack (torch): a malformed corpus is reported without its memory.
    from retrieval.encoders import DEFAULT_CONFIG, EncoderError, TransformerEncoder
    from retrieval.index import META_FILE, BadIndex, HybridIndex, read_meta
    from retrieval.memory import index_dir as default_index_dir

    directory = index_dir or default_index_dir()
    try:
        exists = (directory / META_FILE).is_file()
        config = dict(read_meta(directory)["encoder_config"] if exists else DEFAULT_CONFIG)
        overrides = {"source": encoder, "token_merging": token_merging, "merge_after_layer": merge_after_layer}
        config.update({key: value for key, value in overrides.items() if value is not None})
        model = TransformerEncoder.from_config(config)
        index = HybridIndex.load(directory, model) if exists else HybridIndex.for_encoder(model)
        with err.status(f"encoding {len(pairs)} pair(s)"):
            added = index.add(pairs)
        index.save(directory)
    except (BadIndex, EncoderError, ValueError) as exc:
        raise _fail(str(exc)) from None
    err.print(f"added {added} new pair(s) ({len(pairs) - added} already present) from {len(corpora)} "
              f"file(s); {directory} holds {len(index)}")


@index_app.command()
def mine(
    repo: Annotated[Path, typer.Argument(help="A local git repository.")],
    index_dir: IndexDir = None,
    max_commits: Annotated[Optional[int], typer.Option(help="Look at most this many commits back.")] = None,
) -> None:
    """Mine the bug-fix commits of REPO (those since the last run) into the index."""
    from retrieval.encoders import EncoderError
    from retrieval.index import BadIndex
    from retrieval.memory import index_dir as default_index_dir
    from retrieval.memory import open_index, remember_repository
    from retrieval.mining import MiningLimits

    directory = index_dir or default_index_dir()
    try:
        index = open_index(directory)
        with err.status(f"mining {repo}"):
            update = remember_repository(index, repo, directory, MiningLimits(max_commits=max_commits))
    except (BadIndex, EncoderError) as exc:
        raise _fail(str(exc)) from None
    if update is None:
        raise _fail(f"{repo} is not a git repository")
    err.print(f"{update.commits_scanned} new commit(s) scanned, {update.fix_commits} small fix(es): "
              f"{update.pairs_found} pair(s), {update.pairs_added} new; {directory} holds {len(index)}")


@index_app.command()
def query(
    file: Annotated[Path, typer.Option("--file", help="Source file with the suspicious code.")],
    line: Annotated[int, typer.Option("--line", help="First suspicious line (1-based).")],
    end_line: Annotated[Optional[int], typer.Option(help="Last suspicious line (default: --line).")] = None,
    k: Annotated[int, typer.Option("-k", help="How many pairs to show.")] = 5,
    index_dir: IndexDir = None,
) -> None:
    """Show the pairs most similar to FILE:LINE, with their scores, and similar lines."""
    from repairbot.domain import SuspiciousLocation, unified_diff
    from retrieval import syntax
    from retrieval.encoders import EncoderError
    from retrieval.index import BadIndex, read_meta
    from retrieval.memory import index_dir as default_index_dir
    from retrieval.memory import open_index
    from retrieval.retrieve import retrieve

    directory = index_dir or default_index_dir()
    if not file.is_file():
        raise _fail(f"{file} is not a file")
    if syntax.language_for(file.name) is None:
        suffixes = sorted(suffix for language in languages() for suffix in language.suffixes)
        raise _fail(f"{file}: unsupported language (supported: {', '.join(suffixes)})")
    total = len(file.read_text(encoding="utf-8", errors="replace").splitlines())
    last = end_line or line
    if not 1 <= line <= last <= total:
        raise _fail(f"lines {line}..{last} are outside {file} (1..{total})")
    try:
        read_meta(directory)  # open_index would answer from a new, empty index: exit 0, nothing found
        index = open_index(directory)
    except BadIndex as exc:
        raise _fail(f"{exc}; create one with `repairbot index build` or `repairbot index mine`") from None
    except EncoderError as exc:
        raise _fail(str(exc)) from None
    location = SuspiciousLocation(file.name, line, last, 1.0)
    context = retrieve(file.parent, [location], index, k)[location]
    if not context.fixes:
        err.print(f"no pairs found ({directory} holds {len(index)})")
    for rank, fix in enumerate(context.fixes, start=1):
        pair = fix.pair
        dense = f"{fix.dense_score:.3f}" if fix.dense_score is not None else "-"
        lexical = f"{fix.lexical_score:.2f}" if fix.lexical_score is not None else "-"
        out.print(f"#{rank} score {fix.score:.4f} (dense {dense}, bm25 {lexical})  {pair.kind} {pair.language}  "
                  f"{printable(pair.repository)} {pair.commit[:10]} {printable(pair.file_path)}", markup=False)
        if pair.message:
            out.print(f"    {printable(pair.message.splitlines()[0])}", markup=False)
        out.print(printable(unified_diff(pair.file_path or "code", pair.buggy, pair.fixed), multiline=True), end="", markup=False)
    if context.similar_lines:
        out.print("similar lines in the same file:")
        for similar in context.similar_lines:
            out.print(f"  {similar.line:>5} {similar.score:.3f}  {printable(similar.text.strip())}", markup=False)


@index_app.command()
def stats(index_dir: IndexDir = None) -> None:
    """Size, languages, encoder and mined repositories of the index."""
    from retrieval.index import BadIndex, HybridIndex
    from retrieval.memory import index_dir as default_index_dir
    from retrieval.memory import mined_repositories

    directory = index_dir or default_index_dir()
    try:
        index = HybridIndex.load(directory)
    except BadIndex as exc:
        raise _fail(f"{exc}; create one with `repairbot index build` or `repairbot index mine`") from None
    summary = index.stats()
    languages = ", ".join(f"{name} {count}" for name, count in sorted(summary.languages.items())) or "none"
    out.print(f"index: {directory}")
    out.print(f"pairs: {summary.size} ({languages})")
    merging = index.encoder_config.get("token_merging")
    layer = index.encoder_config.get("merge_after_layer", 0)
    out.print(f"encoder: {summary.encoder} ({summary.dim}-d, token merging "
              f"{f'after layer {layer}' if merging else 'off'}); dense index: {summary.dense_kind}", markup=False)
    out.print(f"on disk: {summary.disk_bytes / 1e6:.2f} MB")
    for root, state in sorted(mined_repositories(directory).items()):
        out.print(f"mined: {state['path']} up to {state['head'][:10]} ({state['pairs']} pairs; root {root[:10]})",
                  markup=False)

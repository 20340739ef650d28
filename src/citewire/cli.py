"""The ``citewire`` command: parse arguments, call ``Engine``, render, map errors to one line."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from citewire import __version__
from citewire.codec import answer_to_dict, audit_to_dict, summary_to_dict
from citewire.config import debug_enabled
from citewire.dates import parse_user_date
from citewire.engine import Engine
from citewire.errors import CitewireError, NotFoundError
from citewire.extract import FieldMap
from citewire.fetch import FetchPolicy
from citewire.ingest import IngestOptions, Progress
from citewire.llm import ChatWriter
from citewire.models import Answer, Audit, SearchFilters
from citewire.render import (
    answer_html,
    answer_markdown,
    answer_text,
    audit_html,
    audit_markdown,
    audit_text,
    hit_to_dict,
    hits_text,
    ingest_text,
    stats_text,
)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """One line on stderr and exit status 1 for every citewire error; CITEWIRE_DEBUG=1 re-raises."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CitewireError as exc:
            if debug_enabled():
                raise
            click.echo(f"Error: {exc.one_line()}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


home_option = click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="CITEWIRE_HOME",
    help="Data directory holding the index [env: CITEWIRE_HOME; default: per-user data dir].",
)


@click.group()
@click.version_option(__version__, prog_name="citewire")
def cli() -> None:
    """citewire: answers about the news that show their receipts."""


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@home_option
@click.option("--dry-run", is_flag=True, help="Read, extract and deduplicate, but write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=KEY",
    help="Map a JSON field, e.g. --field text=story.body --field published=meta.ts.",
)
@click.option("--outlet", "default_outlet", help="Outlet for records and pages that name none.")
@click.option("--timeout", type=float, default=20.0, show_default=True, help="URL timeout (s).")
@click.option("--concurrency", type=int, default=4, show_default=True, help="Parallel fetches.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--batch-size", type=int, default=64, hidden=True)
@handle_errors
def ingest(
    sources: tuple[str, ...],
    home: str | None,
    dry_run: bool,
    as_json: bool,
    fields: tuple[str, ...],
    default_outlet: str | None,
    timeout: float,
    concurrency: int,
    quiet: bool,
    batch_size: int,
) -> None:
    """Add articles from files, folders, globs, URLs, RSS/Atom feeds, or '-' (JSONL on stdin)."""
    options = IngestOptions(
        fields=FieldMap.parse(",".join(fields)) if fields else FieldMap(),
        dry_run=dry_run,
        batch_size=batch_size,
        default_outlet=default_outlet,
        fetch=FetchPolicy(timeout=timeout, concurrency=concurrency),
    )
    show_progress = not quiet and not as_json and sys.stderr.isatty()
    with Engine(home) as engine:
        if show_progress:
            report = _ingest_with_progress(engine, sources, options)
        else:
            report = engine.ingest(sources, options, stdin=sys.stdin.buffer)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for line in ingest_text(report).splitlines():
            click.echo(line, err=line.startswith("failed:"))
    if report.failed:
        sys.exit(1)


def _ingest_with_progress(engine: Engine, sources: tuple[str, ...], options: IngestOptions) -> Any:
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn(
            "{task.fields[docs]} docs · {task.fields[added]} new · "
            "{task.fields[failed]} failed · {task.fields[rate]:.1f} docs/s"
        ),
        TimeElapsedColumn(),
        transient=True,
        console=None,
    ) as bar:
        task = bar.add_task("ingesting", docs=0, added=0, failed=0, rate=0.0)

        def update(p: Progress) -> None:
            elapsed = bar.tasks[task].elapsed or 1e-9
            bar.update(
                task,
                description=f"ingesting {p.current[-40:]}",
                docs=p.documents,
                added=p.added,
                failed=p.failed,
                rate=p.documents / elapsed,
            )

        return engine.ingest(sources, options, stdin=sys.stdin.buffer, progress=update)


@cli.command()
@click.argument("query")
@home_option
@click.option("--k", "k", type=int, default=10, show_default=True, help="Number of hits.")
@click.option("--since", help="Only articles published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", help="Only articles published on or before this date.")
@click.option("--outlet", "outlets", multiple=True, help="Only stories carried by this outlet.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "bm25", "dense"]),
    default="hybrid",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@handle_errors
def search(
    query: str,
    home: str | None,
    k: int,
    since: str | None,
    until: str | None,
    outlets: tuple[str, ...],
    mode: str,
    as_json: bool,
) -> None:
    """Find passages by meaning and by words: one hit per story, newest evidence dated."""
    filters = SearchFilters(
        since=parse_user_date(since) if since else None,
        until=parse_user_date(until, end_of_day=True) if until else None,
        outlets=outlets,
    )
    with Engine(home) as engine:
        hits = engine.search(query, k=k, filters=filters, mode=mode)
    if as_json:
        click.echo(json.dumps([hit_to_dict(h) for h in hits], indent=2, ensure_ascii=False))
    else:
        click.echo(hits_text(hits))


@cli.command()
@home_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def stats(home: str | None, as_json: bool) -> None:
    """What the index holds: articles, stories, passages, dates, outlets, size."""
    with Engine(home) as engine:
        result = engine.stats()
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else stats_text(result))


FORMATS = click.Choice(["text", "markdown", "json", "html"])


def writer_options(help_text: str) -> Callable[[F], F]:
    """--writer, --llm-url and --llm-model, the same for every command that writes answers."""

    def decorate(func: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--writer",
                    type=click.Choice(["extractive", "openai", "llama"]),
                    default="extractive",
                    show_default=True,
                    help=help_text,
                ),
                click.option(
                    "--llm-url", envvar="CITEWIRE_LLM_BASE_URL", help="Base URL of the LLM server."
                ),
                click.option(
                    "--llm-model",
                    envvar="CITEWIRE_LLM_MODEL",
                    help="Model name on the server; for --writer llama: smollm2, qwen1.5b or a "
                    ".gguf path.",
                ),
            )
        ):
            func = option(func)
        return func

    return decorate


def _llm_writer(
    stack: contextlib.ExitStack[Any], kind: str, llm_url: str | None, llm_model: str | None
) -> ChatWriter | None:
    """The LLM writer ``--writer`` names (None: extractive), closed by ``stack``."""
    if kind == "openai":
        from citewire.llm import LLMConfig, OpenAIWriter

        config = LLMConfig.from_env(base_url=llm_url, model=llm_model)
        return stack.enter_context(OpenAIWriter(config))
    if kind == "llama":
        from citewire.local_llm import LlamaWriter

        return stack.enter_context(LlamaWriter(llm_model or "qwen1.5b"))
    return None


JUDGE_HELP = (
    "Entailment judge for the support check: none (facts + embeddings), llm (the "
    "OpenAI-compatible server in CITEWIRE_LLM_BASE_URL), local (Qwen 1.5B), smollm2, or a .gguf."
)


def _print_answer(answer: Answer, fmt: str, explain: bool) -> None:
    if fmt == "json":
        click.echo(json.dumps(answer_to_dict(answer), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(answer_markdown(answer, explain=explain), nl=False)
    elif fmt == "html":
        click.echo(answer_html(answer), nl=False)
    else:
        click.echo(answer_text(answer, explain=explain), nl=False)


@cli.command()
@click.argument("question")
@home_option
@click.option("--as-of", "as_of", help="Use only evidence published by this date (default: now).")
@click.option(
    "--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format."
)
@click.option("--explain", is_flag=True, help="Show the candidates considered and why.")
@writer_options("The writer: extractive (no model), openai (an OpenAI-compatible server), llama.")
@click.option("--k", "k", type=int, default=12, show_default=True, help="Passages of evidence.")
@click.option("--judge", "judge_spec", envvar="CITEWIRE_JUDGE", default="none", help=JUDGE_HELP)
@handle_errors
def ask(
    question: str,
    home: str | None,
    as_of: str | None,
    fmt: str,
    explain: bool,
    writer: str,
    llm_url: str | None,
    llm_model: str | None,
    k: int,
    judge_spec: str,
) -> None:
    """Answer a question from the index: every sentence cited and checked."""
    from citewire.judge import make_judge

    when = parse_user_date(as_of, end_of_day=True) if as_of else None
    judge = make_judge(judge_spec)
    with Engine(home) as engine, contextlib.ExitStack() as stack:
        chosen = _llm_writer(stack, writer, llm_url, llm_model)
        answer = engine.ask(question, as_of=when, writer=chosen, k=k, judge=judge)
    _print_answer(answer, fmt, explain)


@cli.command()
@home_option
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def answers(home: str | None, limit: int, as_json: bool) -> None:
    """List stored answers, newest first."""
    with Engine(home) as engine:
        rows = engine.answers(limit)
    if as_json:
        click.echo(json.dumps([summary_to_dict(r) for r in rows], indent=2, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.status:22s} {r.question}")


@cli.command()
@click.argument("answer_id")
@home_option
@click.option(
    "--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format."
)
@click.option("--explain", is_flag=True, help="Show the candidates considered and why.")
@handle_errors
def show(answer_id: str, home: str | None, fmt: str, explain: bool) -> None:
    """Print a stored answer (or audit) by its id."""
    with Engine(home) as engine:
        try:
            answer = engine.answer(answer_id)
        except NotFoundError:
            stored = engine.store.get_audit(answer_id)
            if stored is None:
                raise NotFoundError(
                    f"no answer or audit with id {answer_id!r}",
                    hint="`citewire answers` and `citewire audits` list them",
                ) from None
            _print_audit(stored, fmt)
            return
    _print_answer(answer, fmt, explain)


def _chat_model(spec: str | None, stack: contextlib.ExitStack[Any]) -> ChatWriter | None:
    """A chat model from a judge-style spec (none, llm, local, smollm2, a .gguf path)."""
    key = (spec or "none").strip()
    if key.lower() == "none":
        return None
    if key.lower() == "llm":
        return _llm_writer(stack, "openai", None, None)
    return _llm_writer(stack, "llama", None, "qwen1.5b" if key.lower() == "local" else key)


def _print_audit(audit: Audit, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(audit_to_dict(audit), indent=2, ensure_ascii=False))
    elif fmt == "markdown":
        click.echo(audit_markdown(audit), nl=False)
    elif fmt == "html":
        click.echo(audit_html(audit), nl=False)
    else:
        click.echo(audit_text(audit), nl=False)


@cli.command()
@click.argument("source")
@home_option
@click.option(
    "--format", "fmt", type=FORMATS, default="text", show_default=True, help="Output format."
)
@click.option(
    "--input-format",
    "input_format",
    type=click.Choice(["auto", "text", "markdown", "json", "html"]),
    default="auto",
    show_default=True,
    help="How to read SOURCE (auto: from its name, Content-Type or content).",
)
@click.option("--question", help="The question the answer answers (default: found in the text).")
@click.option("--as-of", "as_of", help="Use only evidence published by this date (default: now).")
@click.option("--judge", "judge_spec", envvar="CITEWIRE_JUDGE", default="none", help=JUDGE_HELP)
@click.option(
    "--split-claims",
    "split_spec",
    default="auto",
    show_default=True,
    help="Model that splits compound sentences into atomic claims: auto (the --judge model, "
    "if any), none, llm, local, smollm2 or a .gguf path.",
)
@click.option("--no-save", is_flag=True, help="Do not store the audit in the index.")
@handle_errors
def audit(
    source: str,
    home: str | None,
    fmt: str,
    input_format: str,
    question: str | None,
    as_of: str | None,
    judge_spec: str,
    split_spec: str,
    no_save: bool,
) -> None:
    """Audit an answer written elsewhere (FILE, URL or - for stdin): which claims the indexed
    sources support, and which listed references are in the index, relevant and used."""
    from citewire.audit import ModelSplitter
    from citewire.audit_input import read_source
    from citewire.judge import make_judge

    when = parse_user_date(as_of, end_of_day=True) if as_of else None
    text, origin, guessed = read_source(source)
    judge = make_judge(judge_spec)
    if split_spec == "auto":
        split_spec = judge_spec
    with Engine(home) as engine, contextlib.ExitStack() as stack:
        model = _chat_model(split_spec, stack)
        report = engine.audit(
            text,
            fmt=input_format if input_format != "auto" else guessed,
            question=question,
            as_of=when,
            origin=origin,
            judge=judge,
            splitter=ModelSplitter(model) if model is not None else None,
            save=not no_save,
        )
    _print_audit(report, fmt)


@cli.command()
@home_option
@click.option("--limit", type=int, default=20, show_default=True)
@handle_errors
def audits(home: str | None, limit: int) -> None:
    """List stored audits, newest first (`citewire show ID` prints one)."""
    with Engine(home) as engine:
        rows = engine.audits(limit)
    for r in rows:
        click.echo(f"{r.id}  {r.created_at:%Y-%m-%d %H:%M}  {r.question or '(no question)'}")


@cli.command(name="eval")
@click.argument("sets", nargs=-1)
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False),
    default="../shared/data",
    show_default=True,
    help="Folder holding the benchmark sets (or one set's folder).",
)
@click.option("--limit", type=int, help="Questions per set (default: the set's default; 0: all).")
@click.option(
    "--reuse",
    "reuse_home",
    type=click.Path(file_okay=False),
    help="An index whose stored vectors may be reused (read-only) to skip re-embedding.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.option(
    "--judge",
    "judge_spec",
    help="Verifier sets: an LLM judge (none, llm, local, smollm2 or a .gguf path).",
)
@click.option("--judge-limit", type=int, help="Verifier sets: pairs the judge scores (default 60).")
@writer_options("Answer sets: the writer scored (an LLM writer adds its unchecked baseline).")
@handle_errors
def eval_command(
    sets: tuple[str, ...],
    data_dir: str,
    limit: int | None,
    reuse_home: str | None,
    as_json: bool,
    judge_spec: str | None,
    judge_limit: int | None,
    writer: str,
    llm_url: str | None,
    llm_model: str | None,
) -> None:
    """Score answers on public benchmark sets (rgb_en_fact, multihop_rag_sample500, realtimeqa)
    and the verifier on others (attributionbench, wice, summedits_news, climate_fever,
    averitec_dev, politihop).

    Every index is built in a temporary folder; your own index is never touched.
    """
    from citewire.evaluate import SETS, report_text, run_eval
    from citewire.evaluate_verify import VERIFY_SETS, run_verify_eval
    from citewire.judge import make_judge

    judge = make_judge(judge_spec)
    # The writer (a loaded model) lives for all the sets; click closes it when the command ends.
    stack = click.get_current_context().with_resource(contextlib.ExitStack())
    chosen = _llm_writer(stack, writer, llm_url, llm_model)
    reports = []
    for name in sets or SETS:
        if name in VERIFY_SETS:
            report = run_verify_eval(
                name,
                data_dir,
                limit=limit,
                judge=judge,
                judge_limit=judge_limit,
                progress=lambda m: click.echo(m, err=True),
            )
        else:
            report = run_eval(
                name,
                data_dir,
                limit=limit,
                home=reuse_home,
                writer=chosen,
                progress=lambda m: click.echo(m, err=True),
            )
        reports.append(report)
        if not as_json:
            click.echo(report_text(report))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))


@cli.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers", type=int, default=1, show_default=True, help="Worker processes (one index)."
)
@click.option(
    "--token",
    envvar="CITEWIRE_TOKEN",
    help="Token that writes (ingest, refresh) must present [env: CITEWIRE_TOKEN]; "
    "without one the server accepts no writes.",
)
@click.option(
    "--rate-limit",
    type=int,
    default=300,
    show_default=True,
    help="Requests per minute per client address (asking/auditing/ingesting cost 10; 0: off).",
)
@click.option(
    "--max-body-kib",
    type=int,
    default=2048,
    show_default=True,
    help="Largest request body accepted, in KiB.",
)
@handle_errors
def serve(
    home: str | None,
    host: str,
    port: int,
    workers: int,
    token: str | None,
    rate_limit: int,
    max_body_kib: int,
) -> None:
    """Serve question pages and the REST API (web app) over the index."""
    import os

    from citewire.web import run_server
    from citewire.web_jobs import JOBS_FILE, JobStore

    if workers < 1:
        raise click.BadParameter("must be at least 1", param_hint="--workers")
    # Open (and migrate) the index once here, so worker processes never race to migrate it.
    with Engine(home) as engine:
        index_home = engine.home
    JobStore(index_home / JOBS_FILE)
    # Worker processes build the app from the environment (uvicorn imports the factory anew).
    os.environ["CITEWIRE_HOME"] = str(index_home)
    os.environ["CITEWIRE_RATE_LIMIT"] = str(rate_limit)
    os.environ["CITEWIRE_MAX_BODY"] = str(max_body_kib * 1024)
    if token:
        os.environ["CITEWIRE_TOKEN"] = token
    else:
        os.environ.pop("CITEWIRE_TOKEN", None)
    writes = "writes need the token" if token else "read-only: no --token, writes are refused"
    click.echo(
        f"citewire: serving {index_home} at http://{host}:{port}/ ({workers} worker(s); {writes})",
        err=True,
    )
    run_server(host, port, workers)


def main() -> None:
    cli()

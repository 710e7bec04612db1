"""Server-rendered HTML: the bot's recent jobs, and one job's detail (status, stage, failing
tests, suspicious lines, the patch as a highlighted diff) that the pull request links to.
Jinja2 escapes every value (autoescape); the diff is highlighted by Pygments, which escapes
what it formats."""

from __future__ import annotations

from typing import Any

from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from repairbot.db.store import JobDetail
from repairbot.github.store import BotJob

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}code{font-size:.95em}
.state-reported{color:#1a7f37}.state-superseded{color:#888}"""

_TEMPLATES = {
    "base.html": """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{% block title %}{% endblock %}</title>
<style>{{ style }}{{ diff_css }}</style></head><body>{% block body %}{% endblock %}</body></html>""",
    "list.html": """{% extends "base.html" %}{% block title %}repairbot jobs{% endblock %}{% block body %}
<h1>repairbot: recent jobs</h1>
<table id="jobs"><tr><th>job</th><th>repository</th><th>branch</th><th>commit</th><th>state</th><th>repair</th>
<th>conclusion</th><th>pull request</th><th>created</th></tr>
{% for job, status in rows %}<tr><td><a href="/ui/jobs/{{ job.id }}">{{ job.id }}</a></td><td>{{ job.repo }}</td>
<td>{{ job.branch }}</td><td><code>{{ job.head_sha[:7] }}</code></td><td class="state-{{ job.state }}">{{ job.state }}</td>
<td>{{ status }}</td><td>{{ job.conclusion or "" }}</td>
<td>{% if job.pr_url %}<a href="{{ job.pr_url }}">#{{ job.pr_number }}</a>{% endif %}</td>
<td>{{ job.created_at.strftime("%Y-%m-%d %H:%M:%S") }}</td></tr>{% else %}<tr><td colspan="9">no jobs yet</td></tr>{% endfor %}
</table>{% endblock %}""",
    "detail.html": """{% extends "base.html" %}{% block title %}repairbot job {{ job.id }}{% endblock %}{% block body %}
<p><a href="/ui">all jobs</a></p><h1>Job {{ job.id }}: {{ job.repo }} {{ job.branch }} at <code>{{ job.head_sha[:7] }}</code></h1>
<table><tr><th>state</th><td id="state">{{ job.state }}{% if job.conclusion %} ({{ job.conclusion }}){% endif %}</td></tr>
<tr><th>repair job</th><td id="status">{{ s.status }}{% if s.stage %}, stage {{ s.stage }}{% endif %}</td></tr>
<tr><th>candidates tried</th><td>{{ s.candidates_tried }}</td></tr>
{% if job.reason %}<tr><th>reason</th><td>{{ job.reason }}</td></tr>{% endif %}
{% if s.error %}<tr><th>error</th><td>{{ s.error }}</td></tr>{% endif %}
{% if job.hint %}<tr><th>hint</th><td>{{ job.hint }}</td></tr>{% endif %}
{% if job.pr_url %}<tr><th>pull request</th><td><a href="{{ job.pr_url }}">#{{ job.pr_number }}</a></td></tr>{% endif %}
</table>
<h2>Failing tests</h2><ul id="failing">{% for test_id, message in d.failures %}<li><code>{{ test_id }}</code></li>
{% else %}<li>none recorded yet</li>{% endfor %}</ul>
<h2>Suspicious lines</h2><table id="suspicious"><tr><th>location</th><th>score</th><th>formula</th></tr>
{% for loc in d.locations[:10] %}<tr><td><code>{{ loc.file }}:{{ loc.start_line }}</code></td><td>{{ "%.3f"|format(loc.score) }}</td>
<td>{{ loc.formula }}</td></tr>{% endfor %}</table>
<h2>Patch</h2>{% if patch %}<p>generator <code>{{ patch.generator }}</code>: {{ patch.description }}</p>
<div id="patch">{{ diff_html }}</div>{% else %}<p>none</p>{% endif %}{% endblock %}""",
}

_env = Environment(loader=DictLoader(_TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True))
_formatter = HtmlFormatter(cssclass="diff")
_common: dict[str, Any] = {"style": _STYLE, "diff_css": Markup(_formatter.get_style_defs(".diff"))}


def job_list(rows: list[tuple[BotJob, str]]) -> str:
    return _env.get_template("list.html").render(rows=rows, **_common)


def job_detail(job: BotJob, detail: JobDetail) -> str:
    patch = detail.patches[0] if detail.patches else None
    diff_html = Markup(highlight(patch.diff, DiffLexer(), _formatter)) if patch else ""
    return _env.get_template("detail.html").render(
        job=job, d=detail, s=detail.summary, patch=patch, diff_html=diff_html, **_common
    )

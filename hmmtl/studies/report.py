"""Tables and figures for the transfer studies: Markdown, CSV, JSON and a PNG plot.

A study produces *records*, one per (setting, seed, split, domain) evaluation::

    {"setting": "both/viterbi+posterior/K128", "representation": "viterbi+posterior",
     "text": "both", "n_states": 128, "seed": 0, "notation": "normalized", "split": "test",
     "domain": "answers", "accuracy": 0.912, "oov_accuracy": 0.781, "n_tokens": 5331,
     "n_oov": 702}

:func:`summarize` turns them into rows with the mean and the spread (sample standard
deviation) over seeds, per domain and for the mean over domains (averaged within a seed
first, so the spread of the mean is the spread over seeds).  Accuracies stay fractions in
[0, 1] everywhere.  matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import OrderedDict
from pathlib import Path
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "summarize",
    "markdown_table",
    "summary_to_csv",
    "write_text_atomic",
    "write_json",
    "plot_summary",
    "write_report",
    "SETTING_KEYS",
]

#: record fields that identify a setting (everything but seed, split, domain and figures)
SETTING_KEYS = ("setting", "representation", "text", "n_states", "notation")
METRICS = ("accuracy", "oov_accuracy")


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` with the package's one output writer
    (:class:`hmmtl.io.atomic.OutputFile`): a reader never sees half a file, and the file
    gets the permissions of a plain ``open`` (``0o644`` under umask ``022``).  The folder
    must exist."""
    from ..io.atomic import write_text

    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not exist; "
                                "create it first")
    return write_text(path, text, what="results")


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} as JSON")


def write_json(obj, path) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def summarize(records: Iterable[dict], *, mean_label: str = "mean") -> list[dict]:
    """Mean and spread over seeds of each metric, per setting, split and domain.

    Parameters
    ----------
    records : iterable of dict
        One evaluation each (see the module docstring).
    mean_label : str
        Domain name of the rows holding the mean over domains.

    Returns
    -------
    rows : list of dict
        Keys: the setting keys, ``split``, ``domain``, ``n_seeds``, ``n_tokens`` and, for each
        metric, ``<metric>_mean`` and ``<metric>_std``.  Order: settings in order of first
        appearance, domains in order of first appearance, then the mean row.
    """
    records = list(records)
    groups: OrderedDict[tuple, dict] = OrderedDict()
    domains_of: OrderedDict[tuple, list] = OrderedDict()
    for r in records:
        skey = tuple(r.get(k) for k in SETTING_KEYS) + (r["split"],)
        doms = domains_of.setdefault(skey, [])
        if r["domain"] not in doms:
            doms.append(r["domain"])
        groups.setdefault(skey, {}).setdefault(r["domain"], {}).setdefault(r["seed"], r)
    rows = []
    for skey, by_domain in groups.items():
        base = dict(zip(SETTING_KEYS + ("split",), skey))
        per_seed_means: dict = {}
        for dom in domains_of[skey]:
            by_seed = by_domain[dom]
            row = dict(base, domain=dom, n_seeds=len(by_seed),
                       n_tokens=int(next(iter(by_seed.values())).get("n_tokens", 0)))
            for m in METRICS:
                row[f"{m}_mean"], row[f"{m}_std"] = _mean_std([r.get(m) for r in by_seed.values()])
            rows.append(row)
            for seed, r in by_seed.items():
                per_seed_means.setdefault(seed, {}).setdefault(dom, r)
        # mean over domains inside each seed (only seeds that cover every domain)
        full = {s: d for s, d in per_seed_means.items() if len(d) == len(domains_of[skey])}
        row = dict(base, domain=mean_label, n_seeds=len(full),
                   n_tokens=int(sum(r["n_tokens"] for r in rows[-len(domains_of[skey]):])))
        for m in METRICS:
            row[f"{m}_mean"], row[f"{m}_std"] = _mean_std(
                [float(np.mean([r[m] for r in d.values()])) for d in full.values()])
        rows.append(row)
    return rows


def _cell(mean: float, std: float, n: int, digits: int) -> str:
    if mean is None or math.isnan(mean):
        return "n/a"
    if n > 1:
        return f"{mean:.{digits}f} ± {std:.{digits}f}"
    return f"{mean:.{digits}f}"


def markdown_table(summary: Sequence[dict], *, metric: str = "accuracy", split: str = "test",
                   notation: str | None = None, digits: int = 4,
                   baseline: str | None = None) -> str:
    """One Markdown table: a row per setting, a column per domain and the mean.

    Cells are ``mean ± std`` over seeds, as fractions in [0, 1].  With ``baseline`` (a
    setting name) a last column gives the difference of the mean from that setting's mean
    in points (x 100).
    """
    rows = [r for r in summary if r["split"] == split
            and (notation is None or r["notation"] == notation)]
    if not rows:
        return f"(no {split} results)\n"
    settings: OrderedDict[tuple, dict] = OrderedDict()
    domains: list = []
    for r in rows:
        key = (r["setting"], r["notation"])
        settings.setdefault(key, {})[r["domain"]] = r
        if r["domain"] not in domains:
            domains.append(r["domain"])
    if "mean" in domains:  # keep the mean last
        domains = [d for d in domains if d != "mean"] + ["mean"]
    base_mean = None
    if baseline is not None:
        for (name, _nota), cells in settings.items():
            if name == baseline and "mean" in cells:
                base_mean = cells["mean"][f"{metric}_mean"]
    show_notation = notation is None and len({k[1] for k in settings}) > 1
    head = ["setting"] + (["notation"] if show_notation else []) + domains
    if base_mean is not None:
        head.append(f"Δ mean vs {baseline} (points)")
    out = io.StringIO()
    out.write("| " + " | ".join(head) + " |\n")
    out.write("|" + "|".join(["---"] * len(head)) + "|\n")
    for (name, nota), cells in settings.items():
        line = [name] + ([nota] if show_notation else [])
        for d in domains:
            c = cells.get(d)
            line.append("n/a" if c is None else
                        _cell(c[f"{metric}_mean"], c[f"{metric}_std"], c["n_seeds"], digits))
        if base_mean is not None:
            c = cells.get("mean")
            line.append("n/a" if c is None else f"{100 * (c[f'{metric}_mean'] - base_mean):+.2f}")
        out.write("| " + " | ".join(line) + " |\n")
    return out.getvalue()


def summary_to_csv(summary: Sequence[dict]) -> str:
    """CSV text of :func:`summarize` rows (one line per setting, split and domain)."""
    if not summary:
        return ""
    fields = list(summary[0].keys())
    for r in summary:
        fields.extend(k for k in r if k not in fields)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in summary:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in fields})
    return buf.getvalue()


def plot_summary(summary: Sequence[dict], path, *, split: str = "test",
                 notation: str | None = "normalized", title: str | None = None) -> Path:
    """Grouped bars of accuracy and OOV accuracy per domain (and mean) for each setting,
    with the spread over seeds as error bars, saved as a PNG.  Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - optional dependency
        raise ImportError("plotting needs matplotlib; install it with pip install "
                          "'hmmtl[plot]'") from e
    rows = [r for r in summary if r["split"] == split
            and (notation is None or r["notation"] == notation)]
    settings = list(OrderedDict.fromkeys(r["setting"] for r in rows))
    domains = list(OrderedDict.fromkeys(r["domain"] for r in rows))
    cell = {(r["setting"], r["domain"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(domains) * 2), 4.5), squeeze=False)
    width = 0.8 / max(1, len(settings))
    x = np.arange(len(domains))
    for ax, metric, label in zip(axes[0], METRICS, ("accuracy", "OOV accuracy")):
        for i, s in enumerate(settings):
            means = [cell.get((s, d), {}).get(f"{metric}_mean", np.nan) for d in domains]
            stds = [cell.get((s, d), {}).get(f"{metric}_std", 0.0) for d in domains]
            ax.bar(x + (i - (len(settings) - 1) / 2) * width, means, width, yerr=stds,
                   label=s, capsize=2)
        vals = [cell[(s, d)][f"{metric}_mean"] for s in settings for d in domains
                if (s, d) in cell and not math.isnan(cell[(s, d)][f"{metric}_mean"])]
        if vals:
            lo = max(0.0, min(vals) - 0.05)
            ax.set_ylim(lo, min(1.0, max(vals) + 0.02))
        ax.set_xticks(x)
        ax.set_xticklabels(domains, rotation=30)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0][1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title or f"{split} accuracy by domain")
    fig.tight_layout()
    from ..io.atomic import OutputFile

    path = Path(path)
    try:
        with OutputFile(path, binary=True, what="plot") as out:
            fig.savefig(out.stream, dpi=110, format="png")
    finally:
        plt.close(fig)
    return path


def write_report(records: Sequence[dict], out_dir, *, name: str, title: str,
                 baseline: str | None = None, extra: dict | None = None,
                 plot: bool = True) -> dict:
    """Write ``<name>.md``, ``<name>.csv``, ``<name>.json`` and ``<name>.png`` into
    ``out_dir`` (created if needed) and return ``{"summary": rows, "paths": {...},
    "markdown": text}``.  The plot is skipped, with a note, when matplotlib is missing."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    notations = list(OrderedDict.fromkeys(r["notation"] for r in summary))
    splits = [s for s in ("test", "dev") if any(r["split"] == s for r in summary)]
    md = io.StringIO()
    md.write(f"# {title}\n\n")
    if extra and extra.get("description"):
        md.write(extra["description"].rstrip() + "\n\n")
    for split in splits:
        for nota in notations:
            for metric, label in (("accuracy", "Accuracy"), ("oov_accuracy", "OOV accuracy")):
                md.write(f"## {label}, {split}, {nota} notation\n\n")
                md.write(markdown_table(summary, metric=metric, split=split, notation=nota,
                                        baseline=baseline))
                md.write("\n")
    paths: dict[str, Path | None] = {
        "markdown": write_text_atomic(out_dir / f"{name}.md", md.getvalue()),
        "csv": write_text_atomic(out_dir / f"{name}.csv", summary_to_csv(summary)),
        "json": write_json({"title": title, **(extra or {}), "summary": summary,
                            "records": list(records)}, out_dir / f"{name}.json"),
    }
    if plot:
        try:
            paths["png"] = plot_summary(summary, out_dir / f"{name}.png",
                                        notation=notations[0] if notations else None,
                                        split=splits[0] if splits else "test", title=title)
        except ImportError as e:
            paths["png"] = None
            md.write(f"\n(plot skipped: {e})\n")
    return {"summary": summary, "paths": paths, "markdown": md.getvalue()}

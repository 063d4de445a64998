"""One EM driver for every HMM family and every executor.

:func:`run_em` initializes (random restarts, or a given start), then alternates the E-step --
``family.e_step`` mapped over the partitions by an executor, the additive statistics summed --
with the M-step on the driver, in batch (Baum-Welch) or stepwise online schedule (Liang &
Klein 2009), under a :class:`ConvergenceMonitor`, with a tqdm progress bar on request.
Parameters travel to the data once per E-step; only statistics (K^2 + K*V numbers) come back.

References
----------
Dempster, Laird & Rubin (1977).  Liang & Klein (2009), Online EM for unsupervised models.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from .._base import check_random_state

__all__ = ["ConvergenceMonitor", "EMResult", "run_em", "sequence_selection"]


class ConvergenceMonitor:
    """Per-iteration record of EM.

    Attributes
    ----------
    history : list of float
        The objective EM increases, at each iteration, for the parameters of that
        iteration's E-step: the log-likelihood plus the Dirichlet log-prior of the
        pseudocounts (equal to the log-likelihood when the priors are 0).  For online EM,
        the sum over the pass of the mini-batch log-likelihoods.
    log_likelihoods : list of float
        The log-likelihood alone, same iterations.
    seconds : list of float
        Wall time of each iteration (E-step and M-step; for online EM, the pass).
    iter : int
        Iterations done.
    converged : bool
        The objective improved by less than ``tol`` (in absolute value, hmmlearn's rule).
    """

    def __init__(self, tol: float, n_iter: int, verbose: bool = False):
        self.tol = tol
        self.n_iter = n_iter
        self.verbose = verbose
        self.history: list[float] = []
        self.log_likelihoods: list[float] = []
        self.seconds: list[float] = []
        self.iter = 0
        self._clock = time.perf_counter()

    def report(self, objective: float, log_likelihood: float) -> None:
        self.history.append(float(objective))
        self.log_likelihoods.append(float(log_likelihood))
        self.iter += 1

    def tick(self) -> None:
        """End of an iteration: record its wall time."""
        now = time.perf_counter()
        self.seconds.append(now - self._clock)
        self._clock = now

    @property
    def converged(self) -> bool:
        h = self.history
        return len(h) >= 2 and (h[-1] - h[-2]) < self.tol

    @classmethod
    def restored(cls, tol, n_iter, history, log_likelihoods=None) -> ConvergenceMonitor:
        """A monitor holding a saved history (``log_likelihoods`` default: the history)."""
        m = cls(tol, n_iter)
        m.history = [float(h) for h in history]
        m.log_likelihoods = [float(h) for h in (history if log_likelihoods is None
                                                else log_likelihoods)]
        m.iter = len(m.history)
        return m

    def __repr__(self) -> str:
        return (f"ConvergenceMonitor(iter={self.iter}, converged={self.converged}, "
                f"last={self.history[-1] if self.history else None})")


class EMResult(NamedTuple):
    """params: the best run's parameters; monitor: its record; summary: the data summary
    initialization used."""

    params: Any
    monitor: ConvergenceMonitor
    summary: Any


def sequence_selection(global_index: np.ndarray, sizes: np.ndarray) -> list:
    """``(partition, local sequence indices)`` holding the given global sequence indices
    (partitions in order, sequences in the order given within each)."""
    ends = np.cumsum(sizes)
    starts = ends - sizes
    part = np.searchsorted(ends, global_index, side="right")
    out = []
    for p in np.unique(part).tolist():
        mine = global_index[part == p]
        out.append((p, (mine - starts[p]).astype(np.int64)))
    return out


def _n_sequences(part) -> int:
    return int(part.n_sequences)


def run_em(family, data, executor, *, priors, n_iter: int, tol: float,
           algorithm: str = "batch", batch_size: int = 1000, stepsize_alpha: float = 0.7,
           n_init: int = 1, random_state=None, init=None, verbose: bool = False,
           desc: str = "EM") -> EMResult:
    """Fit ``family``'s parameters by EM over the partitions ``data`` held by ``executor``.

    Parameters
    ----------
    family : HMMFamily or hmmtl.transfer.multitask_family.MultiTaskFamily
        Pure ``summarize``, ``init_params``, ``e_step``, ``m_step``, ``log_prior`` and
        ``online_start``.
    data : partitions of encoded data, as ``executor.map`` returned them
    executor : LocalExecutor, DaskExecutor, SparkExecutor
    priors : Priors
    n_iter, tol : EM iterations (or online passes) and the convergence threshold.
    algorithm : {"batch", "online"}
    batch_size, stepsize_alpha : online EM's mini-batch size (sequences) and step size
        ``eta_t = (t + 2) ** -stepsize_alpha``.
    n_init : int
        Random restarts; the run of highest final objective is kept.  Fully labeled data
        (when the family can count) runs once.
    random_state : seed of the initializations and of online EM's permutations.
    init : dict, optional
        Starting parameters instead of random ones (one run).
    verbose : bool
        A tqdm progress bar over iterations with the log-likelihood per token.

    Returns
    -------
    EMResult
    """
    rs = check_random_state(random_state)
    summary = executor.map_sum(family.summarize, data)
    if summary is None or summary.n_tokens == 0:
        raise ValueError("the data holds no tokens; expected at least one non-empty sequence")
    counting = getattr(summary, "fully_labeled", False) and not family.needs_em_with_labels
    n_runs = 1 if counting or init is not None else int(n_init)
    best: EMResult | None = None

    def e_step(params, select=None):
        return executor.map_sum(family.e_step, data, params, select=select)

    for _ in range(n_runs):
        params = family.init_params(summary, rs, init=init, priors=priors)
        monitor = ConvergenceMonitor(tol, int(n_iter), verbose)
        if counting:
            params = family.m_step(e_step(params), priors)
            stats = e_step(params)
            monitor.report(stats.log_likelihood + family.log_prior(params, priors),
                           stats.log_likelihood)
            monitor.tick()
        elif algorithm == "online":
            params = _online(family, data, executor, params, monitor, summary, rs, priors,
                             int(n_iter), int(batch_size), float(stepsize_alpha), verbose,
                             desc)
        else:
            params = _batch(e_step, family, params, monitor, summary, priors, int(n_iter),
                            verbose, desc)
        if best is None or monitor.history[-1] > best.monitor.history[-1]:
            best = EMResult(params, monitor, summary)
    assert best is not None  # n_init >= 1
    return best


def _iterations(n_iter: int, verbose: bool, desc: str):
    if verbose:
        from .._progress import progress_bar

        return progress_bar(range(n_iter), desc=desc, unit="iter")
    return range(n_iter)


def _show(bar, log_likelihood: float, n_tokens: int) -> None:
    if hasattr(bar, "set_postfix"):
        bar.set_postfix(ll_per_token=f"{log_likelihood / max(n_tokens, 1):.4f}")


def _batch(e_step, family, params, monitor, summary, priors, n_iter, verbose, desc):
    bar = _iterations(n_iter, verbose, desc)
    for _ in bar:
        stats = e_step(params)
        monitor.report(stats.log_likelihood + family.log_prior(params, priors),
                       stats.log_likelihood)
        _show(bar, stats.log_likelihood, summary.n_tokens)
        params = family.m_step(stats, priors)
        monitor.tick()
        if monitor.converged:
            break
    return params


def _online(family, data, executor, params, monitor, summary, rs, priors, n_iter, batch_size,
            alpha, verbose, desc):
    """Stepwise EM: running statistics ``s <- (1 - eta_t) s + eta_t * s_batch`` with
    ``eta_t = (t + 2) ** -alpha``, the mini-batch statistics scaled to the size of the
    corpus; one pass = one permutation of all sequences (drawn here, whatever the
    partitioning) cut into mini-batches of ``batch_size`` sequences."""
    sizes = np.asarray(executor.collect(_n_sequences, data), dtype=np.int64)
    n_seq, n_tok = int(sizes.sum()), summary.n_tokens
    running = family.online_start(params, n_tok, n_seq)
    t = 0
    n_batches = -(-n_seq // batch_size)
    bar = None
    if verbose:  # one step a mini-batch: the rate and the time left of the whole run
        from .._progress import progress_bar

        bar = progress_bar(total=n_iter * n_tok, desc=desc, unit="tok")
    for i in range(n_iter):
        perm = rs.permutation(n_seq)
        ll_pass, prior_pass = 0.0, 0.0
        if bar is not None:
            bar.set_postfix_str(f"pass {i + 1}/{n_iter}, {n_batches} mini-batches")
        for lo in range(0, n_seq, batch_size):
            select = sequence_selection(perm[lo:lo + batch_size], sizes)
            stats = executor.map_sum(family.e_step, data, params, select=select)
            if stats is None or stats.n_tokens == 0:
                continue
            ll_pass += stats.log_likelihood
            prior_pass = family.log_prior(params, priors)
            scaled = stats.scaled(n_tok / stats.n_tokens)
            if running is None:
                running = scaled
            else:
                eta = (t + 2.0) ** (-alpha)
                running = running.scaled(1.0 - eta) + scaled.scaled(eta)
            t += 1
            params = family.m_step(running, priors)
            if bar is not None:
                bar.update(stats.n_tokens)
        monitor.report(ll_pass + prior_pass, ll_pass)
        monitor.tick()
        _show(bar, ll_pass, n_tok)
        if monitor.converged:
            break
    if bar is not None:
        bar.close()
    return params

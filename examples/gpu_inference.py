"""Forward-backward and Viterbi on a GPU with CuPy, checked against the CPU kernels.

    python examples/gpu_inference.py [--data DIR] [--quick] [--backend cupy|numpy]

With CuPy and a CUDA GPU the array backend runs there (``backend="cupy"``); without them
it says so and runs the same code with NumPy on the CPU (``backend="numpy"``).  Either way
the results are compared with the Numba reference kernels, and an HMM is decoded with each
backend through ``CategoricalHMM(backend=...)``.  ``--data`` is accepted for uniformity with
the other examples; this one makes its own data.
"""

import argparse
import sys
import time

import numpy as np


def gpu_backend() -> tuple[str, str]:
    """("cupy", device name) when CuPy sees a GPU, else ("numpy", why not)."""
    try:
        import cupy
    except ImportError:
        return "numpy", "CuPy is not installed (pip install 'hmmtl[gpu]')"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any CUDA failure means no usable GPU
        return "numpy", f"CuPy cannot use a GPU here ({type(exc).__name__}: {exc})"
    if n < 1:
        return "numpy", "CuPy found no CUDA device"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    return "cupy", name.decode() if isinstance(name, bytes) else str(name)


def random_chain(n_tokens: int, n_states: int, rs) -> tuple:
    """Log-potentials of sentences of realistic lengths (5..40 tokens)."""
    lengths = rs.randint(5, 41, size=n_tokens // 20 + 1)
    lengths = lengths[np.cumsum(lengths) <= n_tokens]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    unary = np.log(rs.dirichlet(np.ones(n_states), size=int(offsets[-1])))
    transition = np.log(rs.dirichlet(np.ones(n_states), size=n_states))
    start = np.log(rs.dirichlet(np.ones(n_states)))
    return unary, transition, offsets, start


def timed(fn, repeat=3):
    fn()  # compile / warm up
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="unused (accepted like the other examples)")
    parser.add_argument("--quick", action="store_true", help="small and fast")
    parser.add_argument("--backend", choices=("cupy", "numpy"),
                        help="array backend (default: cupy when a GPU is usable)")
    args = parser.parse_args(argv)

    from hmmtl import CategoricalHMM
    from hmmtl.inference import forward_backward, viterbi

    backend, what = gpu_backend()
    if args.backend == "cupy" and backend != "cupy":
        sys.exit(f"--backend cupy: {what}")
    if backend == "cupy" and args.backend != "numpy":
        print(f"GPU: {what}; running backend='cupy'")
    else:
        if backend != "cupy":
            print(f"no GPU: {what}.\nRunning the same array code on the CPU with "
                  f"backend='numpy' instead.")
        backend = "numpy"

    rs = np.random.RandomState(0)
    n_tokens = 20_000 if args.quick else 1_000_000
    print(f"{'states':>6} {'tokens':>9} {'numba fb/s':>12} {backend + ' fb/s':>12} "
          f"{'max |diff| marginals':>21} {'Viterbi paths equal':>20}")
    for n_states in ((16, 64) if args.quick else (64, 256, 1024)):
        unary, transition, offsets, start = random_chain(n_tokens, n_states, rs)
        ref, t_ref = timed(lambda: forward_backward(unary, transition, offsets, start,
                                                    backend="numba"))
        got, t_got = timed(lambda: forward_backward(unary, transition, offsets, start,
                                                    backend=backend))
        diff = float(np.abs(np.asarray(got.marginals) - ref.marginals).max())
        assert np.allclose(got.log_z, ref.log_z, rtol=1e-9, atol=1e-9), "log_z differ"
        path_ref = viterbi(unary, transition, offsets, start, backend="numba").path
        path = viterbi(unary, transition, offsets, start, backend=backend).path
        n = int(offsets[-1])
        print(f"{n_states:>6} {n:>9} {n / t_ref:>12.3g} {n / t_got:>12.3g} {diff:>21.2e} "
              f"{str(bool(np.array_equal(np.asarray(path), path_ref))):>20}")

    # an estimator picks its backend with one parameter
    sents = [["the", "dog", "barks"], ["a", "cat", "sleeps"], ["the", "cat", "barks"]] * 50
    hmm = CategoricalHMM(n_states=4, n_iter=10, random_state=0).fit(sents)
    on_cpu = hmm.predict(sents[:3])
    hmm.set_params(backend=backend)
    print(f"CategoricalHMM(backend={backend!r}).predict agrees with numba: "
          f"{hmm.predict(sents[:3]) == on_cpu}")


if __name__ == "__main__":
    main()

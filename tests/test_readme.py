"""The README runs as written.

- Its first code block holds the set-up: one command that installs bprop and runs the main
  experiment, one that installs the test extra and runs the suite; ``.ci/run`` runs the
  second one exactly as the README writes it.
- Its Python blocks, joined in order, run in one fresh interpreter without an error.

The README's examples train real models (an MLP for 5 epochs on MNIST, a character language
model for 6 epochs on Tiny Shakespeare), which takes minutes. The test runs the blocks' text
unchanged, but first executes a prelude (``SMALL_DATA`` below, in a namespace of its own, so
that it defines no name a block could lean on) that makes the data small: the loaders
return a subset of the real data, and ``mlp_config`` asks for a subset, so that the sweep's
worker processes, which load MNIST themselves, train on a subset too. The code is the
README's; only the data is cut.

The joined blocks are compiled and executed in ``__main__`` of a ``python -c`` process: the
sweep's ``if __name__ == "__main__":`` guard is true there, as in a script or an interactive
session, and ``__main__`` has no file, so the worker processes do not import it again (they
would if the blocks were one script file: they import a script's ``__main__`` and would run
every unguarded block once more).
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import real_data_folder

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"

# The README's data, cut: MNIST to 2000 training and 500 test images, Tiny Shakespeare to
# two BPTT windows of 64 x 50 characters for training and one evaluation window of 64 x 100
# for validation, the addition task to 1000 / 200 problems.
SMALL_DATA = textwrap.dedent("""
    import numpy as np
    import bprop.datasets
    import bprop.optim

    MNIST_TRAIN, MNIST_TEST = 2000, 500
    TEXT_TRAIN, TEXT_VAL = 64 * 50 * 2 + 1, 64 * 100 + 1

    real_load_mnist = bprop.datasets.load_mnist
    real_load_tiny_shakespeare = bprop.datasets.load_tiny_shakespeare
    real_make_addition = bprop.datasets.make_addition
    real_mlp_config = bprop.optim.mlp_config

    def load_mnist(*args, **kwargs):
        (x_train, t_train), (x_test, t_test) = real_load_mnist(*args, **kwargs)
        return ((x_train[:MNIST_TRAIN], t_train[:MNIST_TRAIN]),
                (x_test[:MNIST_TEST], t_test[:MNIST_TEST]))

    def load_tiny_shakespeare(*args, **kwargs):
        corpus = real_load_tiny_shakespeare(*args, **kwargs)
        train, val = corpus.train[:TEXT_TRAIN], corpus.val[:TEXT_VAL]
        return corpus._replace(ids=np.concatenate([train, val]), train=train, val=val)

    def make_addition(n_train=45000, n_test=5000, max_digits=3, rng=None):
        return real_make_addition(min(n_train, 1000), min(n_test, 200), max_digits, rng)

    def mlp_config(seed, **settings):
        if settings.get("dataset", "mnist") != "spiral":
            for key, most in (("train_size", MNIST_TRAIN), ("test_size", MNIST_TEST)):
                size = settings.get(key)
                settings[key] = most if size is None else min(size, most)
        return real_mlp_config(seed, **settings)

    bprop.datasets.load_mnist = load_mnist
    bprop.datasets.load_tiny_shakespeare = load_tiny_shakespeare
    bprop.datasets.make_addition = make_addition
    bprop.optim.mlp_config = mlp_config
""")

# Runs the prelude (argv[1]) in its own namespace, then the blocks (argv[2]) in __main__.
RUNNER = ('exec(compile(open(__import__("sys").argv[1]).read(), __import__("sys").argv[1], "exec"), '
          '{"__name__": "readme_small_data"}); '
          'exec(compile(open(__import__("sys").argv[2]).read(), __import__("sys").argv[2], "exec"))')


def code_blocks(text):
    """``[(language, code, line), ...]`` of the fenced blocks of a Markdown text, in order;
    ``line`` is the 1-based line of the block's first code line."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = re.match(r"^```\s*(\S*)\s*$", lines[i])
        if opening is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"README.md: the block opened on line {i + 1} is never closed"
        blocks.append((opening.group(1), "\n".join(lines[i + 1:end]) + "\n", i + 2))
        i = end + 1
    return blocks


def setup_commands():
    """The commands of the README's first block, their comments removed."""
    language, code, _ = code_blocks(README.read_text(encoding="utf-8"))[0]
    assert language == "bash", f"README.md: the first block should be the bash set-up, not {language!r}"
    return [line.split(" #")[0].strip() for line in code.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_code_blocks_finds_languages_code_and_lines():
    text = "intro\n```bash\nls\n```\ntext\n```python\nx = 1\ny = 2\n```\n"
    assert code_blocks(text) == [("bash", "ls\n", 3), ("python", "x = 1\ny = 2\n", 7)]


def test_readme_setup_is_two_commands_install_and_run_then_install_and_test():
    commands = setup_commands()
    assert len(commands) == 2, commands
    experiment, tests = commands
    assert "install -e ." in experiment and "scripts/compare_optimizers.py" in experiment, experiment
    assert 'install -e ".[test]"' in tests and "pytest" in tests, tests


def test_ci_runs_the_readme_test_command_as_written():
    test_command = setup_commands()[1]
    ci_lines = [line.strip() for line in CI_RUN.read_text(encoding="utf-8").splitlines()]
    assert test_command in ci_lines, f".ci/run does not run the README's {test_command!r} on a line of its own"


def test_readme_python_blocks_run_in_order_in_one_fresh_interpreter(tmp_path):
    data = real_data_folder("mnist").parent     # skips without the real data (fails under CI)
    assert (data / "tinyshakespeare" / "input.txt").is_file(), f"no Tiny Shakespeare in {data}"
    blocks = [(code, line) for language, code, line in code_blocks(README.read_text(encoding="utf-8"))
              if language == "python"]
    assert len(blocks) >= 5, f"README.md has only {len(blocks)} Python blocks"
    # One file of the blocks in order, each headed by its README line, so that a traceback
    # names the line of the joined file and the comment above it says where it is in README.md.
    joined = "".join(f"# README.md, line {line}\n{code}\n" for code, line in blocks)
    (tmp_path / "readme_blocks.py").write_text(joined, encoding="utf-8")
    (tmp_path / "small_data.py").write_text(SMALL_DATA, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    # One BLAS thread, the scripts' default: with other processes on the cores, two OpenBLAS
    # threads run the language model's steps many times slower. (The threads block raises the
    # count to two for itself, as it says.)
    env = dict(os.environ, BPROP_DATA=str(data), MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", RUNNER, str(tmp_path / "small_data.py"),
                             str(tmp_path / "readme_blocks.py")],
                            cwd=work, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    # What the blocks write lands in the working directory, and the sweep behind its
    # __main__ guard ran; the language model's sample is printed after its prompt.
    assert (work / "mlp.npz").is_file()
    assert (work / "results" / "mine" / "sweep.sqlite").is_file(), "the README's sweep did not run"
    assert "ROMEO:" in result.stdout, "the README's sample does not print its prompt"

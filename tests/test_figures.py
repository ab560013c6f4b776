"""The scripts' figures put nothing on top of their data, and count epochs in whole numbers.

Each plotting function is called on small made-up results shaped like the real ones (the
layouts the gallery showed with a legend or a label on the data among them), and the figure
it returns is measured in display coordinates: every line is sampled pixel by pixel, every
band and bar is tested point by point against each legend's and each label's box. This check
is written here on purpose apart from ``plots.data_under``, which the scripts use to place
their legends, so that it does not share that function's mistakes.
"""

import importlib

import numpy as np
import pytest
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.contour import ContourSet

import plots

plt = plots.pyplot()

#: how the x label of an axis that counts something begins: its ticks must be whole numbers
COUNTED = ("epoch", "iteration", "window", "step")


# --- the check ---------------------------------------------------------------------------


def _inside(points, box, margin=1.0):
    x, y = points[:, 0], points[:, 1]
    return (x >= box.x0 - margin) & (x <= box.x1 + margin) & (y >= box.y0 - margin) & (y <= box.y1 + margin)


def _pixel_samples(points):
    """The polyline through ``points`` (display pixels), a sample every half pixel; a NaN
    breaks the line as it breaks the drawing."""
    pieces = []
    for a, b in zip(points[:-1], points[1:]):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            continue
        n = int(np.ceil(np.hypot(*(b - a)) * 2)) + 1
        pieces.append(a + np.linspace(0.0, 1.0, n)[:, None] * (b - a))
    finite = points[np.all(np.isfinite(points), axis=1)]
    return np.concatenate(pieces + [finite]) if pieces else finite


def _box_grid(box, step=2.0):
    xs = np.arange(box.x0, box.x1 + step, step)
    ys = np.arange(box.y0, box.y1 + step, step)
    return np.array([(x, y) for x in xs for y in ys])


def hidden_data(ax, box, renderer, skip=None):
    """Names of what in ``ax`` is drawn inside ``box`` (display pixels): line samples or
    markers, filled bands, scatter points, bars, other texts. Contours, meshes and images
    are the background and are not looked at."""
    found = []
    for line in ax.get_lines():
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
        drawn = line.get_linestyle() not in ("None", "", " ")
        samples = _pixel_samples(xy) if drawn else xy[np.all(np.isfinite(xy), axis=1)]
        reach = max(line.get_linewidth() if drawn else 0,
                    line.get_markersize() if line.get_marker() not in ("None", "", " ", None) else 0)
        if len(samples) and np.any(_inside(samples, box, margin=1 + reach * ax.figure.dpi / 144)):
            found.append(f"line {line.get_label()!r}")
    for coll in ax.collections:
        if isinstance(coll, (ContourSet, QuadMesh)):
            continue
        if isinstance(coll, PathCollection):
            offsets = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float))
            if len(offsets) and np.any(_inside(offsets, box, margin=np.sqrt(coll.get_sizes().max()))):
                found.append(f"points {coll.get_label()!r}")
            continue
        grid = _box_grid(box)
        for path in coll.get_paths():
            shape = coll.get_transform().transform_path(path)
            if np.any(shape.contains_points(grid)) or np.any(_inside(_pixel_samples(shape.vertices), box)):
                found.append(f"{type(coll).__name__} {coll.get_label()!r}")
                break
    for patch in ax.patches:
        shape = patch.get_transform().transform_path(patch.get_path())
        filled = patch.get_fill() and np.any(shape.contains_points(_box_grid(box)))
        if filled or np.any(_inside(_pixel_samples(shape.vertices), box)):  # a bar, or a histogram's outline
            found.append(f"patch {patch!r}")
    for text in ax.texts:
        if text is not skip and text.get_text() and text.get_window_extent(renderer).overlaps(box):
            found.append(f"text {text.get_text()!r}")
    return found


def assert_nothing_on_data(fig):
    """No legend and no text inside an axes of ``fig`` covers that axes' data."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            under = hidden_data(ax, legend.get_window_extent(renderer), renderer)
            assert not under, f"{ax.get_title()!r}: the legend covers {under}"
        frame = ax.get_window_extent(renderer)
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            if box.overlaps(frame):
                under = hidden_data(ax, box, renderer, skip=text)
                assert not under, f"{ax.get_title()!r}: the label {text.get_text()!r} covers {under}"


def assert_whole_number_ticks(fig):
    """Every axis of epochs (iterations, windows, steps) ticks at whole numbers only."""
    counted = [ax for ax in fig.axes if ax.get_xlabel().startswith(COUNTED)]
    assert counted, "no axis of epochs or iterations found"
    for ax in counted:
        if ax.get_xscale() != "linear":
            continue
        low, high = sorted(ax.get_xlim())
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks, f"{ax.get_title()!r}: no tick on the {ax.get_xlabel()!r} axis"
        assert all(float(t).is_integer() for t in ticks), f"{ax.get_xlabel()!r} ticks {ticks}"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- made-up results --------------------------------------------------------------------


def trainer_history(n_epochs, steps_per_epoch=50, seed=0):
    rng = np.random.default_rng(seed)
    n = n_epochs * steps_per_epoch
    epoch = np.arange(1, n_epochs + 1)
    return {
        "iter_loss": list(2.3 * np.exp(-np.arange(n) / (0.3 * n)) + 0.05 + 0.1 * rng.random(n)),
        "epoch": list(epoch), "train_loss": list(1.0 / epoch), "val_loss": list(1.1 / epoch + 0.02),
        "train_acc": list(1 - 0.2 / epoch), "val_acc": list(0.98 - 0.2 / epoch),
    }


def sweep_results(sweep, val_acc, epochs, seeds=3, seed=0):
    """Runs and summary as sweep.main has them: one configuration per entry of ``val_acc``
    ((start, end) of its mean test accuracy), ``seeds`` runs each, a spread between seeds."""
    from bprop.optim import summarize

    rng = np.random.default_rng(seed)
    runs = []
    for k, ((start, end), (optimizer, lr)) in enumerate(zip(val_acc, [("adam", 0.01), ("sgd", 0.1),
                                                                      ("adam", 0.1), ("sgd", 0.01)])):
        for s in range(seeds):
            curve = np.linspace(start, end, epochs) + rng.normal(0, 0.02, epochs)
            runs.append({"key": f"{k}-{s}", "status": "done", "seed": s,
                         "config": {"optimizer": optimizer, "lr": lr, "seed": s},
                         "history": {"val_acc": list(curve), "train_loss": list(2.5 - 2 * curve)},
                         "metrics": {"test_acc": float(curve[-1]), "test_loss": 0.0, "train_acc": 0.0,
                                     "train_loss": float(2.5 - 2 * curve[-1])}})
    summary = sorted(summarize(runs, sweep.METRICS), key=sweep._rank)
    return runs, summary


# --- the figures ------------------------------------------------------------------------


@pytest.mark.parametrize("n_epochs", [1, 10])
def test_training_history_keeps_legends_off_the_data_and_counts_whole_epochs(n_epochs):
    history = trainer_history(n_epochs)
    fig = plots.plot_history(plt, history, "a history")
    assert_nothing_on_data(fig)
    assert_whole_number_ticks(fig)
    if n_epochs == 1:  # each point large over the one tick, its value in the legend
        for ax in fig.axes[1:]:
            assert [line.get_markersize() for line in ax.get_lines()] == [8, 8]
            key = "loss" if "loss" in ax.get_title() else "acc"
            assert [text.get_text() for text in ax.get_legend().get_texts()] == [
                f"{name}: {history[f'{s}_{key}'][0]:.4f}" for name, s in (("train", "train"), ("test", "val"))]
            ticks = ax.get_xticks()
            assert list(ticks[(ticks >= 0.5) & (ticks <= 1.5)]) == [1]


def test_compare_optimizers_numbers_stand_beside_the_bars_not_on_their_error_bars():
    compare = importlib.import_module("compare_optimizers")
    rng = np.random.default_rng(0)
    losses = {name: [2.3 * np.exp(-np.arange(300) / d) + 0.05 * rng.random(300) + 0.05 for _ in range(5)]
              for name, d in zip(compare.ORDER, (200, 60, 60, 40, 35, 35))}
    # The gallery's numbers: SGD's bar is the shortest, its error bar near the axis' left end.
    means = (0.9364, 0.9686, 0.9684, 0.9730, 0.9736, 0.9742)
    stds = (0.0033, 0.0013, 0.0014, 0.0013, 0.0028, 0.0015)
    groups = [[3, 4, 5], [1, 2], [0]]
    group_of = {i: g + 1 for g, members in enumerate(groups) for i in members}
    rows = [[compare.NAMES[name], group_of[i], compare.MNIST_LR[name], 5, m, s]
            for i, (name, m, s) in enumerate(zip(compare.ORDER, means, stds))]

    class Args:
        batch_size, iterations = 128, 300

    fig = compare._plot_mnist(plt, losses, rows, groups, 10000, Args)
    assert_nothing_on_data(fig)
    assert_whole_number_ticks(fig)
    bars = fig.axes[1]
    assert len(bars.texts) == 6 and "0.9364 ± 0.0033" in bars.texts[0].get_text()


@pytest.mark.parametrize("epochs", [1, 5])
def test_sweep_curves_keep_the_legend_off_the_lowest_curve_and_its_band(epochs):
    sweep = importlib.import_module("sweep")
    # The layout of the report: the fourth (red) configuration low and rising into the lower
    # right corner, where the legend used to be.
    runs, summary = sweep_results(sweep, [(0.84, 0.86), (0.66, 0.77), (0.40, 0.57), (0.18, 0.25)], epochs)
    fig = sweep._plot_curves(plt, runs, summary, ["optimizer", "lr"], "a sweep")
    assert_nothing_on_data(fig)
    assert_whole_number_ticks(fig)
    fig = sweep._plot_final(plt, runs, summary, ["optimizer", "lr"], "a sweep")
    assert_nothing_on_data(fig)


def test_the_check_finds_the_legend_the_report_saw_on_the_red_curve():
    sweep = importlib.import_module("sweep")
    runs, summary = sweep_results(sweep, [(0.84, 0.86), (0.66, 0.77), (0.40, 0.57), (0.18, 0.25)], 2)
    fig = sweep._plot_curves(plt, runs, summary, ["optimizer", "lr"], "a sweep")
    ax = fig.axes[0]
    ax.legend(loc="lower right", fontsize="x-small", title="configuration", title_fontsize="x-small")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    under = hidden_data(ax, ax.get_legend().get_window_extent(renderer), renderer)
    assert any("sgd, lr 0.01" in what for what in under)
    assert plots.data_under(ax, ax.get_legend().get_window_extent(renderer), renderer)


@pytest.mark.parametrize("n_epochs", [1, 6])
def test_char_lm_legends_stay_off_the_baselines_and_the_loss_curves(n_epochs):
    char_lm = importlib.import_module("char_lm")
    rng = np.random.default_rng(0)
    n = 300 * n_epochs
    # the gallery's shape: from above the unigram baseline down to well under the bigram one
    iter_loss = 4.2 * np.exp(-np.arange(n) / 40) + 1.35 + 0.25 * np.exp(-np.arange(n) / 600) + 0.05 * rng.random(n)
    epoch = np.arange(1, n_epochs + 1)
    history = {"iter_loss": list(iter_loss), "epoch": list(epoch), "train_loss": list(1.36 + 0.64 / epoch ** 1.5),
               "val_loss": list(1.55 + 0.23 / epoch)}
    fig = char_lm.plot(plt, history, {"unigram": 3.31, "bigram": 2.45}, "a language model")
    assert_nothing_on_data(fig)
    assert_whole_number_ticks(fig)


def test_seq2seq_legends_stay_off_the_curves():
    seq2seq = importlib.import_module("seq2seq_addition")
    epoch = np.arange(1, 11)
    histories = {name: {"epoch": list(epoch), "test_accuracy": list(np.minimum(1, top * epoch / 10)),
                        "train_loss": list(np.exp(-rate * epoch))}
                 for name, top, rate in zip(seq2seq.VARIANTS, (0.16, 0.9, 0.97), (0.1, 0.3, 0.45))}
    seq2seq_runs = importlib.import_module("seq2seq_runs")
    fig = seq2seq_runs.plot_variants(plt, histories, {k: v[2] for k, v in seq2seq.VARIANTS.items()}, "addition",
                                     0.9, ("test accuracy", "held-out problems", "training loss"))
    assert_nothing_on_data(fig)
    assert_whole_number_ticks(fig)


def test_place_legends_moves_a_legend_out_when_the_data_fill_the_axes():
    fig, ax = plt.subplots(figsize=(4, 3))
    x = np.linspace(0, 1, 200)
    for k in range(12):  # lines everywhere: no free place inside
        ax.plot(x, (k / 11 + 0.3 * np.sin(20 * x + k)) % 1, label=f"line {k}" if k < 3 else None)
    ax.set_xlabel("epoch")
    where = plots.place_legends(fig, [ax])
    assert where == {ax: "below"}
    assert_nothing_on_data(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert ax.get_legend().get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0

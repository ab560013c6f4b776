"""Figures that hide no data: pyplot on the Agg backend, legends placed where nothing is under
them, whole-number axes of epochs, and a run of one epoch drawn as a result.

Nothing is drawn on top of the data: a legend goes where a check finds no data under it, or
outside the axes (:func:`place_legends`); an axis of epochs, iterations or steps has
whole-number ticks (:func:`integer_ticks`, :func:`epoch_axis`), and a run of one epoch shows
its points large, their values in the legend (:func:`mark_lone_points`). A script lays each
figure out with :func:`place_legends` after everything else is drawn, in place of
``tight_layout()``.
"""

import numpy as np


def pyplot(show=False):
    """``matplotlib.pyplot``, on the non-interactive Agg backend unless ``show``."""
    import matplotlib

    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 120, "axes.titlesize": "medium",
                         "legend.fontsize": "small", "grid.alpha": 0.3})
    return plt


#: where :func:`place_legends` tries a legend inside the axes, in this order
LEGEND_SPOTS = ("upper right", "upper left", "lower right", "lower left", "center right",
                "center left", "upper center", "lower center", "center")
#: pixels kept free between a legend and the data around it
LEGEND_GAP = 3


def integer_ticks(ax, axis="x"):
    """Ticks at whole numbers only on the ``axis`` ("x" or "y") of ``ax``: an axis that counts
    epochs, iterations or steps has no tick at 0.96 or 1.5."""
    from matplotlib.ticker import MaxNLocator

    # The steps and nbins of matplotlib's default locator (ticks at 1, 2, 5 x 10^k, and 25 x 10^k);
    # min_n_ticks=1: a view from 0.5 to 1.5 holds one whole number, and gets that tick alone
    # instead of MaxNLocator's fallback to fractional ones.
    locator = MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=1)
    getattr(ax, f"{axis}axis").set_major_locator(locator)


def epoch_axis(ax, n_epochs, label="epoch"):
    """Make ``ax``'s x axis an axis of epochs 1..``n_epochs``: the ``label`` (None: none),
    whole-number ticks, and with a single epoch the limits 0.5..1.5 (one tick, the points in
    the middle)."""
    if label is not None:
        ax.set_xlabel(label)
    integer_ticks(ax)
    if n_epochs <= 1:
        ax.set_xlim(0.5, 1.5)


def mark_lone_points(ax, fmt="{:.4f}", values=True):
    """With one point per line (a run of one epoch), draw each line's point large and (with
    ``values``) add its value to the line's legend entry ("train: 0.6860"), so that it reads
    as a result and not as a stray dot; the y axis gets room around the points. Lines of two
    points or more are left as they are."""
    lone = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    for line in lone:
        if line.get_marker() in ("None", "", " ", None):
            line.set_marker("o")
        line.set_markersize(8)
        # In the legend, not beside the point: points of equal or close values would write
        # their numbers on top of each other.
        if values and not line.get_label().startswith("_"):
            line.set_label(f"{line.get_label()}: {fmt.format(line.get_ydata()[0])}")
    if lone:
        ax.margins(y=0.3)


def _pixels(points, fig):
    return points * fig.dpi / 72.0


def _display_path(artist, path):
    return artist.get_transform().transform_path(path)


def _any_inside(box, points):
    """Whether any of the (N, 2) display points lies in ``box``."""
    x, y = np.asarray(points, dtype=float).reshape(-1, 2).T
    return bool(np.any((x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)))


def data_under(ax, box, renderer):
    """The artists of ``ax`` drawn inside the display-space ``box`` (a ``Bbox`` in pixels, such
    as a legend's window extent), with :data:`LEGEND_GAP` pixels of margin: lines (with their
    width and markers), bands and other filled areas, error bars, scatter points, bars and
    texts. Contour lines and filled regions, meshes and images are a background, not data, and
    are not looked at. An empty list: nothing would be hidden under ``box``."""
    from matplotlib.collections import PathCollection, QuadMesh
    from matplotlib.contour import ContourSet

    fig = ax.figure
    box = box.padded(LEGEND_GAP)
    found = []
    for line in ax.get_lines():
        if not line.get_visible() or len(line.get_xdata()) == 0:
            continue
        marker = line.get_marker() not in ("None", "", " ", None)
        has_line = line.get_linestyle() not in ("None", "", " ") and line.get_linewidth() > 0
        grow = max(_pixels(line.get_linewidth(), fig) if has_line else 0,
                   _pixels(line.get_markersize(), fig) if marker else 0) / 2
        path = _display_path(line, line.get_path())
        near = box.padded(grow)
        if has_line and path.intersects_bbox(near, filled=False):
            found.append(line)
        elif marker and _any_inside(near, path.vertices):
            found.append(line)
    for coll in ax.collections:
        if not coll.get_visible() or isinstance(coll, (ContourSet, QuadMesh)):
            continue
        if isinstance(coll, PathCollection):  # scatter: a marker at each offset
            offsets = coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float))
            sizes = coll.get_sizes()
            grow = _pixels(np.sqrt(sizes.max()), fig) / 2 if len(sizes) else 0
            if _any_inside(box.padded(grow), offsets):
                found.append(coll)
            continue
        faces = coll.get_facecolor()
        filled = len(faces) > 0 and bool(np.any(faces[:, 3] > 0))
        grow = _pixels(max(coll.get_linewidth(), default=0), fig) / 2
        if any(_display_path(coll, p).intersects_bbox(box.padded(grow), filled=filled)
               for p in coll.get_paths()):
            found.append(coll)
    for patch in ax.patches:
        if patch.get_visible() and _display_path(patch, patch.get_path()).intersects_bbox(
                box, filled=patch.get_fill()):
            found.append(patch)
    for text in ax.texts:
        if text.get_visible() and text.get_text() and text.get_window_extent(renderer).overlaps(box):
            found.append(text)
    return found


def _renderer(fig):
    """Draw ``fig`` (which fixes the axes' limits and the layout) and return its renderer."""
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _legend_entries(ax, kwargs):
    return len(kwargs["handles"]) if "handles" in kwargs else len(ax.get_legend_handles_labels()[0])


def _legend_outside(ax, where, renderer, kwargs):
    """A legend right of ``ax`` or below it (under its tick labels and x label), in as many
    columns as fit the axes' width."""
    from matplotlib.transforms import ScaledTranslation

    if ax.get_legend() is not None:
        ax.get_legend().remove()
    if where == "right":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, **kwargs)
    fig = ax.figure
    # The gap is in inches from the axes' bottom edge, so that a later layout, which changes
    # the axes' height but not the labels' size, keeps the legend just under the labels.
    gap = (ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0) / fig.dpi + 0.05
    anchor = ax.transAxes + ScaledTranslation(0, -gap, fig.dpi_scale_trans)
    width = ax.get_window_extent(renderer).width
    for ncol in range(_legend_entries(ax, kwargs), 0, -1):
        legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=anchor,
                           borderaxespad=0, ncol=ncol, **kwargs)
        if ncol == 1 or legend.get_window_extent(renderer).width <= width:
            return legend
        legend.remove()


def _legend_inside(ax, spots, renderer, kwargs):
    """Put ``ax``'s legend at the first of ``spots`` with no data under it, else at the first
    free place of a grid over the axes (top rows first, right to left); return where (a
    ``loc``, or the axes coordinates of the legend's upper right corner), or None."""
    for spot in spots:
        legend = ax.legend(loc=spot, **kwargs)
        if not data_under(ax, legend.get_window_extent(renderer), renderer):
            return spot
    frame = ax.get_window_extent(renderer)
    size = legend.get_window_extent(renderer)
    width, height = size.width / frame.width, size.height / frame.height
    if width > 0.98 or height > 0.98:
        return None
    legend = ax.legend(loc="upper right", bbox_to_anchor=(0.99, 0.99), borderaxespad=0, **kwargs)
    for top in np.linspace(0.99, height + 0.01, 12):
        for right in np.linspace(0.99, width + 0.01, 8):
            legend.set_bbox_to_anchor((right, top), ax.transAxes)
            if not data_under(ax, legend.get_window_extent(renderer), renderer):
                return (float(right), float(top))
    return None


def place_legends(fig, legends, outside="below"):
    """Lay ``fig`` out and give each axes of ``legends`` a legend with no data under it.

    ``legends`` is a list of axes or a dict ``{axes: keyword arguments of ax.legend}``, where
    two more keys are understood: ``spots`` (the ``loc`` values to try first, default
    :data:`LEGEND_SPOTS`) and ``outside`` ("below" or "right", overriding the argument). The
    legend goes to the first spot inside the axes where :func:`data_under` finds nothing under
    it, else to the first free place of a grid over the axes (a gap between two curves, say);
    where every place would hide data, it goes outside the axes: below them (under the x
    label, in as many columns as fit) or right of them. The figure is then laid out again
    (``tight_layout``, which makes room for a legend outside) and the legends inside are checked
    again in the new layout, until none moves out. This replaces the figure's ``tight_layout()``
    and comes after everything else is drawn. Returns ``{axes: where its legend went}``.
    """
    if not isinstance(legends, dict):
        legends = {ax: {} for ax in legends}
    chosen = {}
    for _ in range(4):
        fig.tight_layout()
        renderer = _renderer(fig)
        moved_out = False
        for ax, kwargs in legends.items():
            kwargs = dict(kwargs)
            spots = kwargs.pop("spots", LEGEND_SPOTS)
            where = kwargs.pop("outside", outside)
            if _legend_entries(ax, kwargs) == 0 or chosen.get(ax) in ("below", "right"):
                continue
            legend = ax.get_legend()
            if ax in chosen and not data_under(ax, legend.get_window_extent(renderer), renderer):
                continue
            chosen[ax] = _legend_inside(ax, spots, renderer, kwargs)
            if chosen[ax] is None:
                _legend_outside(ax, where, renderer, kwargs)
                chosen[ax] = where
                moved_out = True
        if not moved_out:
            break
    return chosen


def plot_history(plt, history, title, val_name="test", train_name="train"):
    """A Trainer's history in three panels: the loss of every mini-batch (with its running
    mean), then loss and accuracy after each epoch on the training and validation sets."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    it = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(it, history["iter_loss"], color="C0", alpha=0.3, lw=0.6, label="mini-batch")
    ax.plot(it, smooth(history["iter_loss"], 100), color="C0", lw=1.8, label="mean of last 100")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    integer_ticks(ax)
    ax.set_ylabel("training loss")
    ax.set_title("loss of each mini-batch")
    for ax, key, label in ((axes[1], "loss", "loss"), (axes[2], "acc", "accuracy")):
        if f"train_{key}" in history:  # not measured when the training batches are augmented
            ax.plot(history["epoch"], history[f"train_{key}"], "o-", ms=3, label=train_name)
        ax.plot(history["epoch"], history[f"val_{key}"], "s--", ms=3, label=val_name)
        epoch_axis(ax, len(history["epoch"]))
        mark_lone_points(ax)
        ax.set_ylabel(label)
        ax.set_title(f"{label} after each epoch")
    for ax in axes:
        ax.grid(True, which="both")
    fig.suptitle(title)
    place_legends(fig, {axes[0]: {}, axes[1]: {}, axes[2]: {"spots": ("lower right",) + LEGEND_SPOTS}})
    return fig


def smooth(values, window=50):
    """Running mean over ``window`` values (shorter at the start), for noisy loss curves."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (csum[index] - csum[start]) / (index - start)

"""Activation functions and their derivatives: step, sigmoid, tanh and ReLU.

Each function is drawn over [-5, 5] above its derivative, the derivative both from
its formula (sigmoid' = s (1 - s), tanh' = 1 - tanh^2, relu' = [x > 0],
step' = 0 away from 0) and from central differences (h = 1e-4) as dots; the
script prints how far apart the two are. The step function's derivative is zero
wherever it exists, which is why a network of step units cannot learn by gradient
descent; sigmoid's is at most 0.25, which is why deep sigmoid nets learn slowly.

Writes activations.png and activations.csv (x, each function, each derivative).
"""

import numpy as np

from bprop.layers import relu, relu_grad, sigmoid, sigmoid_grad, step_function, tanh, tanh_grad
import exits
import plots
from experiment import Outcome, script

FUNCTIONS = {
    "step": (step_function, lambda x: np.zeros_like(x)),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
}
H = 1e-4


def experiment(args, plt):
    x = np.linspace(-5.0, 5.0, 1001)
    columns = {"x": x}
    errors = {}
    smooth = np.abs(x) > 2 * H  # away from the kinks of step and ReLU at 0
    for name, (f, df) in FUNCTIONS.items():
        columns[name] = f(x)
        columns[f"d_{name}"] = df(x)
        numeric = (f(x + H) - f(x - H)) / (2 * H)
        errors[name] = float(np.max(np.abs(numeric[smooth] - columns[f"d_{name}"][smooth])))
        print(f"{name:>7}: range [{columns[name].min():.3f}, {columns[name].max():.3f}], "
              f"largest derivative {columns[f'd_{name}'].max():.3f}, "
              f"formula vs central difference: max |diff| {errors[name]:.1e}")

    fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharex=True)
    dots = slice(0, None, 50)
    for j, name in enumerate(FUNCTIONS):
        f, _ = FUNCTIONS[name]
        ax = axes[0, j]
        if name == "step":  # draw the jump as a jump, not a steep line
            ax.plot(x[x <= 0], columns[name][x <= 0], color="C0", lw=2)
            ax.plot(x[x > 0], columns[name][x > 0], color="C0", lw=2)
        else:
            ax.plot(x, columns[name], color="C0", lw=2)
        ax.set_title(name)
        ax = axes[1, j]
        left = x <= 0
        if name in ("step", "relu"):  # the derivative jumps (or is undefined) at 0
            ax.plot(x[left], columns[f"d_{name}"][left], color="C1", lw=2, label="formula")
            ax.plot(x[~left], columns[f"d_{name}"][~left], color="C1", lw=2)
        else:
            ax.plot(x, columns[f"d_{name}"], color="C1", lw=2, label="formula")
        numeric = (f(x + H) - f(x - H)) / (2 * H)
        ax.plot(x[dots][smooth[dots]], numeric[dots][smooth[dots]], "k.", ms=5,
                label="central difference")
        ax.set_title(f"{name}'  (max |diff| {errors[name]:.0e})")
        ax.set_xlabel("x")
        for ax in axes[:, j]:
            ax.grid(True)
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axvline(0, color="0.6", lw=0.8)
    axes[0, 0].set_ylabel("f(x)")
    axes[1, 0].set_ylabel("f'(x)")
    for j in range(4):
        axes[1, j].set_ylim(-0.1, 1.1)
    fig.suptitle("Activation functions (top) and their derivatives (bottom)")
    plots.place_legends(fig, {axes[1, 0]: {"spots": ("upper left",) + plots.LEGEND_SPOTS}})

    names = list(columns)
    return Outcome({"max_derivative_error": errors}, figures={"activations.png": fig},
                   tables={"activations.csv": (names, np.column_stack([columns[n] for n in names]))})


main = script(__doc__, "activations", experiment, quick="the same (this script takes well under a second)")


if __name__ == "__main__":
    exits.run(main)

"""Numerical gradients and gradient descent on f(x0, x1) = x0^2 + x1^2.

The gradient is taken by central differences (h = 1e-4) with
bprop.layers.numerical_gradient, never from the formula (2 x0, 2 x1). Its negative
points downhill, toward the minimum at (0, 0), and is longer the farther away one is.
Gradient descent x <- x - lr * grad f(x) from (-3, 4):

- lr 0.1, 100 steps: each step multiplies x by 0.8, ending about 1e-9 from (0, 0);
- lr 10: each step multiplies x by -19, so x explodes until the differences of h = 1e-4
  are lost in rounding (near |x| ~ 1e13) and the numerical gradient becomes 0;
- lr 1e-10: x barely moves.

Writes gradient_descent.png (the gradient field; the lr 0.1 path over contours; the
distance to the minimum per step for each lr) and gradient_descent.json.
"""

import numpy as np

from bprop.layers import numerical_gradient
import cli
import exits
from experiment import Outcome, script
import plots

START = (-3.0, 4.0)
LEARNING_RATES = (0.1, 10.0, 1e-10)


def function_2(x):
    """``f(x) = x0^2 + x1^2``."""
    return float(np.sum(x ** 2))


def gradient(f, point):
    """Central-difference gradient of ``f`` at ``point`` (a new array)."""
    x = np.array(point, dtype=np.float64)
    return numerical_gradient(lambda: f(x), x)


def gradient_descent(f, init, lr, steps):
    """The path of ``x <- x - lr * grad f(x)``: ``(steps + 1, D)``, starting with ``init``."""
    path = [np.array(init, dtype=np.float64)]
    for _ in range(steps):
        path.append(path[-1] - lr * gradient(f, path[-1]))
    return np.array(path)


def options(parser):
    parser.add_argument("--steps", type=cli.positive_int, default=100, help="descent steps (default: 100)")


def experiment(args, plt):
    paths = {lr: gradient_descent(function_2, START, lr, args.steps) for lr in LEARNING_RATES}
    results = {"start": START, "steps": args.steps, "runs": []}
    for lr, path in paths.items():
        end = path[-1]
        dist = float(np.hypot(*end))
        results["runs"].append({"lr": lr, "final_point": end.tolist(), "final_distance": dist,
                                "final_value": function_2(end)})
        print(f"lr {lr:<6g}: after {args.steps} steps x = ({end[0]: .4e}, {end[1]: .4e}), "
              f"distance to (0, 0) {dist:.3e}")
    results["path_lr_0.1"] = paths[0.1].tolist()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    ax = axes[0]
    g = np.arange(-2.0, 2.5, 0.25)
    gx, gy = np.meshgrid(g, g)
    grads = np.array([gradient(function_2, p) for p in np.column_stack([gx.ravel(), gy.ravel()])])
    ax.quiver(gx.ravel(), gy.ravel(), -grads[:, 0], -grads[:, 1], np.hypot(grads[:, 0], grads[:, 1]),
              angles="xy", cmap="viridis", width=0.004)
    ax.plot(0, 0, "r+", ms=12, mew=2)
    ax.set_title("minus the numerical gradient of $x_0^2 + x_1^2$")
    ax.set_xlim(-2.25, 2.25)
    ax.set_ylim(-2.25, 2.25)

    ax = axes[1]
    g = np.linspace(-4.5, 4.5, 200)
    gx, gy = np.meshgrid(g, g)
    ax.contour(gx, gy, gx ** 2 + gy ** 2, levels=[0.25, 1, 2.5, 5, 10, 15, 20, 25], colors="0.6",
               linewidths=0.8)
    path = paths[0.1]
    ax.plot(path[:, 0], path[:, 1], "o-", color="C0", ms=3.5, lw=1, label="lr 0.1")
    ax.plot(*START, "ks", ms=8, label=f"start {START}")
    ax.plot(0, 0, "r+", ms=12, mew=2, label="minimum")
    ax.set_title(f"gradient descent, lr 0.1, {args.steps} steps")
    for ax in axes[:2]:
        ax.set_aspect("equal")
        ax.set_xlabel("$x_0$")
        ax.set_ylabel("$x_1$")

    ax = axes[2]
    for lr, color in zip(LEARNING_RATES, ("C0", "C3", "C2")):
        dist = np.maximum(np.hypot(paths[lr][:, 0], paths[lr][:, 1]), 1e-300)
        ax.semilogy(np.arange(len(dist)), dist, color=color, lw=2, label=f"lr {lr:g}")
    ax.set_xlabel("step")
    plots.integer_ticks(ax)
    ax.set_ylabel("distance to the minimum")
    ax.set_title("too large a step diverges, too small barely moves")
    ax.grid(True, which="major")
    plots.place_legends(fig, {axes[1]: {"spots": ("lower right",) + plots.LEGEND_SPOTS}, axes[2]: {}})

    return Outcome(results, figures={"gradient_descent.png": fig})


main = script(__doc__, "gradient_descent", experiment, options=options,
              quick="the same (this script takes about a second)")


if __name__ == "__main__":
    exits.run(main)

"""The one shape of every experiment script: parse, shorten for --quick, run, write, finish.

A script keeps what is its own (its options, how ``--quick`` shortens them, and the
experiment) and :func:`script` puts them in order::

    def options(parser):
        parser.add_argument("--steps", type=cli.positive_int, default=10000)

    def shorten(args):                   # what --quick changes
        args.steps = min(args.steps, 2000)

    def experiment(args, plt):           # the experiment itself
        ...
        return Outcome(results, figures={"spiral.png": fig})

    main = script(__doc__, "spiral", experiment, options=options, shorten=shorten,
                  quick="2000 steps instead of 10000")

``main(argv)`` then parses (a bad value is a usage error before any work), applies
``shorten`` under ``--quick``, opens pyplot (Agg unless ``--show``), runs the experiment,
writes each figure, each table as CSV and the results as ``NAME.json`` in ``--out``, and
ends as :func:`exits.finish` says: status 130 after a Ctrl-C (what was finished is written
first), 1 with one line after a failure such as a divergence, else 0. It returns the
results, which is what the tests read.
"""

from dataclasses import dataclass, field

import cli
import exits
import outputs
import plots
import training


@dataclass
class Outcome:
    """What an experiment hands back to be written and reported.

    Attributes
    ----------
    results : dict or None
        The numbers behind the figures, written as ``NAME.json`` (None: no JSON).
    figures : dict
        File name -> matplotlib figure, each saved as PNG.
    tables : dict
        File name -> ``(header, rows)``, each saved as CSV.
    interrupted : bool
        A Ctrl-C stopped the experiment; what it finished is written, then status 130.
    failure : str or None
        One line saying why the run failed (:func:`exits.diverged_line`): written after the
        files, then status 1.
    results_name : str or None
        The JSON's file name where it depends on the options (``train_fashion_mnist.json``);
        None: ``NAME.json``.
    """

    results: dict = None
    figures: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    interrupted: bool = False
    failure: str = None
    results_name: str = None


def script(doc, name, experiment, options=None, shorten=None, quick=None, parser=None, settings=False):
    """A script's ``main(argv=None)`` from its parts (see the module).

    Parameters
    ----------
    doc : str, the script's docstring: the ``--help`` text.
    name : str, the stem of the results file (``NAME.json``).
    experiment : callable ``(args, plt) -> Outcome``.
    options : callable ``parser -> None`` adding the script's own options, or None.
    shorten : callable ``args -> None`` changing ``args`` in place under ``--quick``, or None.
    quick : str, what ``--quick`` does, for ``--help``.
    parser : callable ``() -> parser``, for a script whose parser other code needs too
        (a checkpoint's settings check); it replaces ``doc``, ``options`` and ``quick``.
    settings : bool
        Hand the experiment a third argument, the :class:`training.RunSettings` of the
        options as given (before ``shorten``), which a checkpoint keeps so that
        ``--resume`` refuses other settings.
    """
    def build_parser():
        if parser is not None:
            return parser()
        made = cli.make_parser(doc, quick=quick) if quick else cli.make_parser(doc)
        if options is not None:
            options(made)
        return made

    def main(argv=None):
        made = build_parser()
        args = made.parse_args(argv)
        given = training.RunSettings.of(made, args) if settings else None
        if args.quick and shorten is not None:
            shorten(args)
        plt = plots.pyplot(args.show)
        outcome = experiment(args, plt, given) if settings else experiment(args, plt)
        for file_name, fig in outcome.figures.items():
            outputs.save_figure(fig, args.out, file_name)
        for file_name, (header, rows) in outcome.tables.items():
            outputs.save_csv(header, rows, args.out, file_name)
        if outcome.results is not None:
            outputs.save_json(outcome.results, args.out, outcome.results_name or f"{name}.json")
        exits.finish(plt, args.show, outcome.interrupted, args.out, failure=outcome.failure)
        return outcome.results

    main.build_parser = build_parser
    return main

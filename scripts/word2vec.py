"""Train word2vec (CBOW or skip-gram with negative sampling) on the words of Tiny Shakespeare.

The text is split into lower-case words (203,836; letters with inner apostrophes, so
"king's" and "o'er" are words), and words seen fewer than --min-count times are dropped
from it. Every word with --window words on each side is a training sample: CBOW predicts
it from the mean of its context's vectors, skip-gram (--model skipgram) predicts each
context word from its vector. Either is scored by negative sampling: the true word against
--sample-size words drawn with probability proportional to count**0.75 (never the true
word), a sigmoid loss on each, summed; a model that knows nothing scores (1 + k) ln 2 per
sample (k = --sample-size; times 2 x --window for skip-gram). Adam, the library's Trainer.
The defaults (CBOW, 100-dimensional vectors, window 5, words seen 3 times or more: 4,983
distinct, 194,566 samples; 5 epochs of 1,946 batches) train in about 2 minutes on one core;
skip-gram does 2 x --window times the work of CBOW per sample.

Then it prints, by cosine similarity of the learnt input vectors, the nearest neighbours
of "king", "love", "good" and "lord", and answers a few analogies ("a is to b as c is to ?")
with the word nearest to b - a + c (the three excluded), whatever it finds.

Writes word2vec.png (the 200 most frequent words on the first two principal axes of their
vectors, and the loss of every mini-batch), word2vec.json (settings, corpus sizes,
neighbours, analogies, the Trainer's history of losses, seconds) and word2vec_vectors.npz
(words, the input vectors W_in, the output vectors W_out and the counts, read with
np.load(path, allow_pickle=False)). Ctrl-C stops training cleanly: the files then hold
the completed epochs and the script exits with status 130.

Examples:
  python scripts/word2vec.py                          # CBOW with the defaults of the options
  python scripts/word2vec.py --model skipgram --window 2
  python scripts/word2vec.py --text my_corpus.txt --min-count 1
"""


import numpy as np

from bprop.datasets import DatasetNotFoundError
from bprop.datasets.word2vec_data import create_contexts_target
from bprop.datasets.words import load_shakespeare_words, tokenize_words, words_corpus
from bprop.networks.files import save_npz
from bprop.networks.word2vec import CBOW, SkipGram
from bprop.networks.word_vectors import analogy, most_similar, pca_2d
from bprop.optim import Adam, Trainer
import cli
import exits
from experiment import Outcome, script
import outputs
import plots
import training

MODELS = {"cbow": CBOW, "skipgram": SkipGram}
#: the words whose nearest neighbours are printed
QUERIES = ("king", "love", "good", "lord")
#: a : b :: c : ?
ANALOGIES = (("king", "queen", "man"), ("he", "his", "she"), ("father", "son", "mother"),
             ("brother", "sister", "son"), ("thou", "thy", "you"), ("good", "better", "bad"))
#: the words drawn in the projection: the most frequent
N_PLOTTED = 200
#: --quick: the first words of the text only, a small model, one pass
QUICK = {"words": 20000, "hidden": 16, "epochs": 1}


def build_parser():
    parser = cli.make_parser(__doc__, quick=f"the first {QUICK['words']} words, {QUICK['hidden']}-dimensional "
                                            f"vectors, {QUICK['epochs']} epoch")
    add = parser.add_argument
    add("--model", choices=sorted(MODELS), default="cbow", help="default: cbow")
    add("--hidden", type=cli.positive_int, default=100, help="length of a word vector (default: 100)")
    add("--window", type=cli.positive_int, default=5, help="context words on each side (default: 5)")
    add("--sample-size", type=cli.positive_int, default=5, help="negative samples per target (default: 5)")
    add("--min-count", type=cli.positive_int, default=3,
        help="drop the words seen fewer times from the text (default: 3)")
    add("--epochs", type=cli.positive_int, default=5, help="default: 5")
    add("--batch-size", type=cli.positive_int, default=100, help="default: 100")
    add("--lr", type=cli.positive_float, default=1e-3, help="Adam's learning rate (default: 1e-3)")
    add("--words", type=cli.positive_int, default=None, metavar="N", help="use the first N words of the text only")
    add("--text", metavar="PATH", default=None, help="train on the words of this UTF-8 text file instead")
    add("--verbose", type=int, choices=(0, 1, 2), default=1,
        help="0 silent, 1 progress bar (a line per epoch in a log), 2 a line per epoch (default: 1)")
    return parser


def load_corpus(args):
    """``(WordCorpus, name)``, or exit with the loader's explanation."""
    if args.text is None:
        try:
            return load_shakespeare_words(min_count=args.min_count, max_words=args.words), "Tiny Shakespeare"
        except (DatasetNotFoundError, ValueError) as err:
            exits.fail(err)
    try:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        exits.fail(f"cannot read --text {args.text}: {err}")
    try:
        return words_corpus(tokenize_words(text)[:args.words], args.min_count), args.text
    except ValueError as err:
        exits.fail(f"--text {args.text}: {err}")


def neighbours_and_analogies(vocab, vecs):
    neighbours = {w: most_similar(w, vocab, vecs, top=8) for w in QUERIES if w in vocab}
    answers = []
    for a, b, c in ANALOGIES:
        missing = [w for w in (a, b, c) if w not in vocab]
        question = f"{a}:{b}::{c}:?"
        if missing:
            answers.append({"question": question, "skipped": f"{missing[0]!r} is not in the vocabulary"})
        else:
            answers.append({"question": question, "answers": analogy(a, b, c, vocab, vecs, top=5)})
    return neighbours, answers


def report(neighbours, analogies, vocab):
    for word, near in neighbours.items():
        print(f"{word:>6}: " + ", ".join(f"{w} {s:.2f}" for w, s in near))
    for word in QUERIES:
        if word not in vocab:
            print(f"{word:>6}: not in the vocabulary")
    for item in analogies:
        found = item.get("skipped") or ", ".join(f"{w} {s:.2f}" for w, s in item["answers"])
        print(f"{item['question']:>22} {found}")


def plot(plt, vecs, vocab, history, title, chance):
    fig, axes = plt.subplots(1, 2, figsize=(16, 8), gridspec_kw={"width_ratios": [2.2, 1]})
    ax = axes[0]
    n = min(N_PLOTTED, len(vocab))
    points = pca_2d(vecs[:n])
    ax.scatter(points[:, 0], points[:, 1], s=6, color="C0", alpha=0.5)
    for (x, y), word in zip(points, vocab.words[:n]):
        ax.annotate(word, (x, y), fontsize=7, xytext=(2, 1), textcoords="offset points")
    ax.set_title(f"the {n} most frequent words on the first two principal axes of their vectors")
    ax.set_xlabel("principal axis 1")
    ax.set_ylabel("principal axis 2")
    ax = axes[1]
    it = np.arange(1, len(history["iter_loss"]) + 1)
    ax.plot(it, history["iter_loss"], color="C0", alpha=0.25, lw=0.5, label="mini-batch")
    ax.plot(it, plots.smooth(history["iter_loss"], 200), color="C0", lw=1.8, label="mean of last 200")
    ax.axhline(chance, color="gray", ls=":", label=f"knowing nothing: {chance:.2f}")
    ax.set_xlabel("iteration")
    plots.integer_ticks(ax)
    ax.set_ylabel("negative-sampling loss (nats per sample)")
    ax.set_title("training loss")
    ax.grid(True)
    fig.suptitle(title)
    plots.place_legends(fig, [axes[1]])
    return fig


def shorten(args):
    args.words = min(args.words or QUICK["words"], QUICK["words"])
    args.hidden, args.epochs = QUICK["hidden"], min(args.epochs, QUICK["epochs"])


def experiment(args, plt):

    corpus, name = load_corpus(args)
    vocab = corpus.vocab
    try:
        contexts, target = create_contexts_target(corpus.ids, args.window)
        model = MODELS[args.model](len(vocab), args.hidden, args.window, corpus.ids,
                                   sample_size=args.sample_size, rng=args.seed)
    except ValueError as err:
        exits.fail(f"{name}: {err}")
    chance = (1 + args.sample_size) * np.log(2.0) * (2 * args.window if args.model == "skipgram" else 1)
    last_epoch = training.LastEpoch(model)
    trainer = Trainer(model, Adam(lr=args.lr), (contexts, target), epochs=args.epochs, batch_size=args.batch_size,
                      rng=args.seed, eval_train=False, callbacks=[last_epoch], verbose=args.verbose)
    print(f"{name}: {len(corpus.ids)} words (those seen at least {args.min_count} times), {len(vocab)} distinct; "
          f"{len(target)} samples of window {args.window}")
    print(f"{model!r}: {model.n_params()} parameters; Adam(lr={args.lr:g}), batches of {args.batch_size}, "
          f"{trainer.steps_per_epoch} per epoch; knowing nothing scores {chance:.3f}")

    history, error, interrupted, seconds = training.run_training(trainer, last_epoch, args, "epoch", args.epochs)
    done = history.n_epochs
    loss = history["train_loss"][-1] if done else None
    if done:
        print(f"loss {loss:.4f} after {done} epoch(s) (first mini-batch {history['iter_loss'][0]:.4f}); "
              f"training took {seconds:.0f} s")

    vecs = np.array(model.word_vecs, dtype=np.float64)
    neighbours, analogies = neighbours_and_analogies(vocab, vecs) if done else ({}, [])
    report(neighbours, analogies, vocab)
    results = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("show", "out")},
        "corpus": name, "words": len(corpus.ids), "vocab_size": len(vocab), "samples": len(target),
        "n_params": model.n_params(), "chance_loss": chance, "loss": loss, "epochs_done": done,
        "seconds": seconds, "interrupted_after_epoch": done if interrupted else None,
        "diverged": None if error is None else str(error),
        "neighbours": neighbours, "analogies": analogies, "history": dict(history),
    }
    figures = {}
    if done:
        title = (f"{name}: {args.model}, {args.hidden}-dimensional vectors, window {args.window}; loss "
                 f"{loss:.3f} after {done} epoch(s)")
        figures["word2vec.png"] = plot(plt, vecs, vocab, history, title, chance)
        path = outputs.output_dir(args.out) / "word2vec_vectors.npz"
        save_npz(path, {"words": np.array(vocab.words), "W_in": model.params["W_in"],
                        "W_out": model.params["W_out"], "counts": vocab.counts})
        print(f"wrote {path}")
    return Outcome(results, figures=figures, interrupted=interrupted, failure=exits.lr_failure(error, args.lr))


main = script(__doc__, "word2vec", experiment, parser=build_parser, shorten=shorten)


if __name__ == "__main__":
    exits.run(main)

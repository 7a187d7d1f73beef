"""The Trainer seam: public steps that the loops call, batchers from one factory, the container
interface."""

import ast
import pathlib

import numpy as np
import pytest
import torch

import textrnn
from textrnn.callbacks import Callback
from textrnn.errors import NotCompiledError
from textrnn.layers import Dense, Embedding, GlobalAveragePooling1D, SimpleRNN
from textrnn.models import Sequential
from textrnn.optimizers import RMSprop
from textrnn.training import loop
from textrnn.training.batching import (
    Batcher,
    BucketBatcher,
    EpochPlan,
    default_batcher,
    make_batcher,
)
from textrnn.training.trainer import Trainer
from textrnn.utils import set_random_seed

PACKAGE = pathlib.Path(textrnn.__file__).parent


def token_five(n=96, steps=10, vocab=20, seed=0):
    """Label 1 iff token 5 occurs."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, steps))
    x[x == 5] = 6
    y = rng.integers(0, 2, size=n)
    x[np.arange(n)[y == 1], rng.integers(0, steps, size=n)[y == 1]] = 5
    return x.astype(np.int64), y.astype(np.int64)


def pooled_layers():
    return [Embedding(20, 8), GlobalAveragePooling1D(), Dense(1, activation="sigmoid")]


def compile_(model, lr=0.01):
    model.compile(optimizer=RMSprop(learning_rate=lr), loss="binary_crossentropy", metrics=["acc"])
    return model


class RecordingSequential(Sequential):
    """Records the rows of every batch each step receives, then runs the default step."""

    def __init__(self, layers):
        super().__init__(layers)
        self.seen = {"train": [], "test": [], "predict": []}

    def train_step(self, batch):
        x, y = batch
        self.seen["train"].append((x.shape[0], y.shape[0]))
        return super().train_step(batch)

    def test_step(self, batch):
        self.seen["test"].append(batch[0].shape[0])
        return super().test_step(batch)

    def predict_step(self, batch):
        self.seen["predict"].append(batch.shape[0])
        return super().predict_step(batch)


# ---------------------------------------------------------------- public steps
def test_overridden_steps_see_every_batch_and_keep_the_results():
    x, y = token_five()
    set_random_seed(1)
    plain = compile_(Sequential(pooled_layers()))
    expected = plain.fit(x, y, epochs=2, batch_size=20, validation_split=0.25, verbose=0).history

    set_random_seed(1)
    model = compile_(RecordingSequential(pooled_layers()))
    history = model.fit(x, y, epochs=2, batch_size=20, validation_split=0.25, verbose=0).history
    # 72 training rows in batches of 20, twice; 24 validation rows in batches of 20 too (Keras).
    assert model.seen["train"] == [(20, 20), (20, 20), (20, 20), (12, 12)] * 2
    assert model.seen["test"] == [20, 4, 20, 4]
    assert history == expected

    model.seen["test"].clear()
    model.evaluate(x, y, batch_size=50, verbose=0)
    assert model.seen["test"] == [50, 46]
    out = model.predict(x, batch_size=40, verbose=0)
    assert model.seen["predict"] == [40, 40, 16]
    assert out.shape == (96, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out, plain.predict(x, verbose=0), rtol=1e-6)


def test_a_step_may_change_what_the_batch_holds():
    class FlippedLabels(Sequential):
        def train_step(self, batch):
            x, y = batch
            return super().train_step((x, 1.0 - y))

    x, y = token_five(n=200)
    set_random_seed(0)
    model = compile_(FlippedLabels(pooled_layers()), lr=0.05)
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    _, acc = model.evaluate(x, y, verbose=0)
    assert acc < 0.2  # it learned the flipped labels, so the step's batch was the one trained on


def test_steps_run_outside_fit():
    x, y = token_five(n=16)
    model = Sequential(pooled_layers())
    model.build()
    xt, yt = torch.as_tensor(x, dtype=torch.int32), torch.as_tensor(y, dtype=torch.float32)[:, None]
    with pytest.raises(NotCompiledError, match=r"compile\(\)` before `train_step"):
        model.train_step((xt, yt))
    compile_(model)
    sums = model.train_step((xt, yt))
    assert sums.shape == (2,)  # acc's sum, then the loss's
    assert 0 <= float(sums[0]) <= 16 and float(sums[1]) > 0
    with torch.no_grad():
        expected = torch.nn.functional.binary_cross_entropy(model(xt), yt, reduction="sum")
        torch.testing.assert_close(model.test_step((xt, yt))[1], expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model.predict_step(xt), model(xt))


def test_a_callback_that_predicts_during_fit_changes_nothing():
    class PredictEachEpoch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.predict(x, verbose=0)

    x, y = token_five()
    set_random_seed(2)
    expected = compile_(Sequential(pooled_layers())).fit(x, y, epochs=3, verbose=0).history
    set_random_seed(2)
    model = compile_(Sequential(pooled_layers()))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[PredictEachEpoch()]).history
    assert history == expected


def test_the_loop_uses_no_private_name():
    tree = ast.parse((PACKAGE / "training" / "loop.py").read_text(encoding="utf-8"))
    private = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    ]
    assert private == []


# ---------------------------------------------------------------- batchers from one factory
def test_make_batcher_defaults():
    x = torch.tensor([[0, 1, 2], [0, 0, 3], [4, 5, 6]])
    plain = make_batcher(x, 2, shuffle=False)
    assert type(plain) is Batcher and len(plain) == 2
    bucket = make_batcher(x, 2, shuffle=False, bucket_by_length=True)
    assert isinstance(bucket, BucketBatcher)
    assert bucket.plan().columns == [(1, 3), (0, 3)]
    assert isinstance(default_batcher(x, 3, shuffle=True, bucket_by_length=False), Batcher)


class FirstRowsOnly:
    """A planner that is no `Batcher`: batches of one row over the first `k` rows, in order."""

    def __init__(self, k):
        self.k = k

    def __len__(self):
        return self.k

    def plan(self):
        return EpochPlan(torch.arange(self.k), [(i, i + 1) for i in range(self.k)])


def test_a_custom_batcher_factory_is_used_by_fit_evaluate_and_predict():
    calls = []

    def factory(x, batch_size, *, shuffle, bucket_by_length):
        calls.append((int(x.shape[0]), batch_size, shuffle, bucket_by_length))
        return (
            FirstRowsOnly(3)
            if shuffle
            else default_batcher(x, batch_size, shuffle=shuffle, bucket_by_length=bucket_by_length)
        )

    x, y = token_five()
    model = compile_(RecordingSequential(pooled_layers()))
    model.batcher_factory = factory
    seen_params = []

    class Params(Callback):
        def on_train_begin(self, logs=None):
            seen_params.append(self.params["steps"])

    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[Params()])
    assert calls == [(72, 16, True, False), (24, 16, False, False)]
    assert seen_params == [3]
    assert model.seen["train"] == [(1, 1)] * 6  # the factory's plan, not 72 rows in 16s
    model.evaluate(x, y, batch_size=64, verbose=0)
    model.predict(x, batch_size=64, verbose=0)
    assert calls[2:] == [(96, 64, False, False), (96, 64, False, False)]


def test_make_batcher_passes_the_factory_its_arguments():
    got = {}

    def factory(x, batch_size, *, shuffle, bucket_by_length):
        got.update(rows=int(x.shape[0]), batch_size=batch_size, shuffle=shuffle)
        got["bucket"] = bucket_by_length
        return FirstRowsOnly(2)

    x = torch.zeros(7, 3)
    planner = make_batcher(x, 5, shuffle=True, bucket_by_length=True, factory=factory)
    assert isinstance(planner, FirstRowsOnly)
    assert got == {"rows": 7, "batch_size": 5, "shuffle": True, "bucket": True}


# ---------------------------------------------------------------- the container interface
class PooledModel(Trainer):
    """A model that is not a Sequential: three layers called by hand, trained by the Trainer."""

    def __init__(self):
        super().__init__(name="pooled_by_hand")
        self.embedding = Embedding(20, 8)
        self.pool = GlobalAveragePooling1D()
        self.head = Dense(1, activation="sigmoid")
        self.built = False

    def compute_output(self, x, *, training, logits=False):
        h = self.pool(self.embedding(x, training=training), training=training)
        return self.head.logits(h) if logits else self.head(h, training=training)

    @property
    def logits_activation(self):
        return "sigmoid"

    @property
    def first_layer(self):
        return self.embedding

    @property
    def input_shape(self):
        return (None, None) if self.built else None

    @property
    def output_shape(self):
        return (None, 1)

    @property
    def device(self):
        return torch.device("cpu")

    def build_for(self, x):
        if not self.built:
            self.embedding.maybe_build((None, None))
            self.head.maybe_build((None, 8))
            self.built = True


def test_a_container_that_is_not_sequential_trains_like_one():
    x, y = token_five(n=200)
    by_hand = PooledModel()
    by_hand.build_for(torch.as_tensor(x))
    stack = Sequential(pooled_layers())
    weights = (by_hand.embedding.embeddings, by_hand.head.kernel, by_hand.head.bias)
    stack.set_weights([w.detach().numpy() for w in weights])
    compile_(by_hand, lr=0.05)
    compile_(stack, lr=0.05)

    set_random_seed(3)
    ours = by_hand.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0).history
    set_random_seed(3)
    theirs = stack.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0).history
    assert ours.keys() == theirs.keys() == {"acc", "loss", "val_acc", "val_loss"}
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5)
    np.testing.assert_allclose(by_hand.predict(x, verbose=0), stack.predict(x, verbose=0), rtol=1e-5)
    loss, acc = by_hand.evaluate(x, y, verbose=0)
    assert loss < 0.69 and acc > 0.5


def test_a_container_missing_a_member_says_which():
    class Incomplete(Trainer):
        pass

    model = compile_(Incomplete())
    with pytest.raises(NotImplementedError, match="does not provide `first_layer`"):
        model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)


def test_sequential_is_a_trainer_and_rnn_models_keep_the_api():
    x, y = token_five(n=64)
    model = Sequential([Embedding(20, 8), SimpleRNN(8), Dense(1, activation="sigmoid")])
    assert isinstance(model, Trainer)
    assert model.logits_activation == "sigmoid" and model.first_layer is model.layers[0]
    compile_(model)
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert model.history is history and sorted(history.history) == ["acc", "loss"]
    assert loop.RunningLogs(["acc"], torch.device("cpu")).names == ["acc", "loss"]


# ---------------------------------------------------------------- imports
def _imports(path, modules):
    """Which of `modules` a file imports at run time (in functions too; `if TYPE_CHECKING:` blocks
    left out). `from package import name` counts as the module `package.name` when there is one."""
    found = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    found.add(full if full in modules else child.module)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found & set(modules)


def test_no_import_cycle_among_models_training_and_callbacks():
    modules = {}
    for package in ("models", "training", "callbacks"):
        for path in (PACKAGE / package).glob("*.py"):
            name = f"textrnn.{package}" + ("" if path.stem == "__init__" else f".{path.stem}")
            modules[name] = path
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}

    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*trail, start]
                if nxt not in trail:
                    stack.append((nxt, [*trail, nxt]))
        return None

    assert "textrnn.training.batching" in graph["textrnn.training.loop"]  # the graph is read
    assert [c for name in modules if (c := cycle_from(name))] == []


def test_no_private_name_imported_from_another_module():
    offenders = []
    for package in ("models", "training", "callbacks"):
        for path in (PACKAGE / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                if node.module.startswith("textrnn"):
                    same_package = node.module.startswith(f"textrnn.{package}")
                    for alias in node.names:
                        if alias.name.startswith("_") and not same_package:
                            offenders.append(f"{path.name}: {node.module}.{alias.name}")
    assert offenders == []

import math

import numpy as np
import pytest
import torch

from textrnn import optimizers
from textrnn.training.optimizers import SGD, Adam, RMSprop, get, serialize


def _quadratic_grads(w):
    # d/dw of sum(w**3)/3 + sum(w): a gradient that changes every step.
    return w**2 + 1.0


def _run(opt, w0, steps):
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float32))
    opt.build([p])
    for _ in range(steps):
        opt.zero_grad()
        (p.pow(3).sum() / 3 + p.sum()).backward()
        opt.step()
    return p.detach().numpy().astype(np.float64)


W0 = [0.5, -1.0, 2.0, 1e-4]


def test_rmsprop_defaults_are_keras():
    opt = optimizers.RMSprop()
    assert opt.learning_rate == 0.001
    assert opt.rho == 0.9
    assert opt.epsilon == 1e-7
    assert opt.momentum == 0.0
    assert opt.centered is False
    assert get("rmsprop").get_config() == opt.get_config()


def test_adam_and_sgd_defaults_are_keras():
    adam = get("adam")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    sgd = get("SGD")
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.0, True)])
def test_rmsprop_matches_keras_update_rule(momentum, centered):
    lr, rho, eps = 0.05, 0.9, 1e-7
    w = np.array(W0)
    v = np.zeros_like(w)
    mom = np.zeros_like(w)
    avg = np.zeros_like(w)
    for _ in range(5):
        g = _quadratic_grads(w)
        v = rho * v + (1 - rho) * g**2
        if centered:
            avg = rho * avg + (1 - rho) * g
            denom = v - avg**2 + eps
        else:
            denom = v + eps
        inc = lr * g / np.sqrt(denom)  # Keras: epsilon inside the square root
        if momentum:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    got = _run(RMSprop(learning_rate=lr, momentum=momentum, centered=centered), W0, 5)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_rmsprop_differs_from_torch_where_epsilon_matters():
    # One step with a tiny gradient: Keras's sqrt(v + eps) vs torch's sqrt(v) + eps.
    p1 = torch.nn.Parameter(torch.tensor([0.0]))
    p2 = torch.nn.Parameter(torch.tensor([0.0]))
    ours = RMSprop(learning_rate=1.0, epsilon=1e-3)
    ours.build([p1])
    theirs = torch.optim.RMSprop([p2], lr=1.0, alpha=0.9, eps=1e-3)
    for p, o in ((p1, ours), (p2, theirs)):
        o.zero_grad()
        p.grad = torch.tensor([1e-3])
        o.step()
    g, v = 1e-3, 0.1 * 1e-6
    assert p1.item() == pytest.approx(-g / math.sqrt(v + 1e-3), rel=1e-5)
    assert p2.item() == pytest.approx(-g / (math.sqrt(v) + 1e-3), rel=1e-5)
    assert abs(p1.item() - p2.item()) > 1e-3


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_keras_update_rule(amsgrad):
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-7
    w = np.array(W0)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    vhat = np.zeros_like(w)
    for t in range(1, 6):
        g = _quadratic_grads(w)
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g**2 - v) * (1 - b2)
        if amsgrad:
            vhat = np.maximum(vhat, v)
            w = w - alpha * m / (np.sqrt(vhat) + eps)
        else:
            w = w - alpha * m / (np.sqrt(v) + eps)
    got = _run(Adam(learning_rate=lr, amsgrad=amsgrad), W0, 5)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_keras(nesterov):
    lr, mu = 0.1, 0.9
    w = np.array(W0)
    m = np.zeros_like(w)
    for _ in range(4):
        g = _quadratic_grads(w)
        m = mu * m - lr * g
        w = w + (mu * m - lr * g if nesterov else m)
    got = _run(SGD(learning_rate=lr, momentum=mu, nesterov=nesterov), W0, 4)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_clipnorm_clips_each_gradient_like_keras():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(1))
    opt = SGD(learning_rate=1.0, clipnorm=1.0)
    opt.build([a, b])
    a.grad = torch.tensor([3.0, 4.0])  # norm 5 -> scaled to norm 1
    b.grad = torch.tensor([0.5])  # below clipnorm -> unchanged
    opt.step()
    torch.testing.assert_close(a.detach(), torch.tensor([-0.6, -0.8]))
    torch.testing.assert_close(b.detach(), torch.tensor([-0.5]))


def test_global_clipnorm_scales_all_gradients_together():
    a = torch.nn.Parameter(torch.zeros(1))
    b = torch.nn.Parameter(torch.zeros(1))
    opt = SGD(learning_rate=1.0, global_clipnorm=1.0)
    opt.build([a, b])
    a.grad = torch.tensor([3.0])
    b.grad = torch.tensor([4.0])
    opt.step()
    torch.testing.assert_close(torch.cat([a.detach(), b.detach()]), torch.tensor([-0.6, -0.8]))


def test_clipvalue():
    a = torch.nn.Parameter(torch.zeros(2))
    opt = SGD(learning_rate=1.0, clipvalue=0.5)
    opt.build([a])
    a.grad = torch.tensor([3.0, -0.25])
    opt.step()
    torch.testing.assert_close(a.detach(), torch.tensor([-0.5, 0.25]))


def test_learning_rate_can_change_between_steps():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = SGD(learning_rate=1.0)
    opt.build([p])
    opt.learning_rate = 0.5
    p.grad = torch.ones(1)
    opt.step()
    assert p.item() == pytest.approx(-0.5)
    assert opt.iterations == 1


@pytest.mark.parametrize(
    "factory,message",
    [
        (lambda: RMSprop(learning_rate=0), "`learning_rate`"),
        (lambda: RMSprop(learning_rate=-1e-3), "`learning_rate`"),
        (lambda: RMSprop(rho=1.0), "`rho`"),
        (lambda: Adam(beta_1=1.5), "`beta_1`"),
        (lambda: RMSprop(epsilon=-1.0), "`epsilon`"),
        (lambda: SGD(momentum=-0.1), "`momentum`"),
        (lambda: SGD(nesterov=True), "`nesterov=True` needs a positive `momentum`"),
        (
            lambda: RMSprop(clipnorm=1.0, clipvalue=1.0),
            "Only one of `clipnorm`, `clipvalue` and `global_clipnorm`",
        ),
        (lambda: RMSprop(clipnorm=0.0), "`clipnorm`"),
        (
            lambda: get("adamax"),
            "expected one of ['adagrad', 'adam', 'adamw', 'nadam', 'rmsprop', 'sgd']",
        ),
    ],
)
def test_bad_arguments_raise(factory, message):
    with pytest.raises(ValueError) as err:
        factory()
    assert message in str(err.value)


def test_get_rejects_other_types():
    with pytest.raises(TypeError, match="`optimizer`"):
        get(0.001)


def test_config_round_trip():
    opt = RMSprop(learning_rate=0.01, rho=0.8, clipnorm=2.0)
    again = get(serialize(opt))
    assert isinstance(again, RMSprop)
    assert again.get_config() == opt.get_config()
    assert get({"class_name": "Adam", "config": {"learning_rate": 0.1}}).learning_rate == 0.1


def test_step_before_build_is_explained():
    with pytest.raises(RuntimeError, match="not built yet"):
        RMSprop().step()


# (optimizer, its hyperparameters, its per-weight state, whether a weight joins late: Adam's step
# count, and so its bias correction, then differs between weights)
NATIVE_RULES = {
    "rmsprop": (RMSprop, {"learning_rate": 0.01, "rho": 0.8, "epsilon": 1e-6}, ("velocity",), False),
    "adam": (Adam, {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-6}, ("m", "v"), True),
}


def _trajectory(rule, dtype, shapes, steps, mode, monkeypatch):
    """Weights and states after `steps` steps of `rule` with TEXTRNN_KERNELS=`mode`."""
    cls, kwargs, keys, late = NATIVE_RULES[rule]
    monkeypatch.setenv("TEXTRNN_KERNELS", mode)
    g = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in shapes]
    opt = cls(**kwargs)
    opt.build(params)
    for step in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if late and i == len(params) - 1 and step < 2:
                continue
            grad = torch.randn(p.shape, generator=g, dtype=dtype) * 10.0 ** (-(i + step) % 6)
            grad[..., 0] = 0.0  # rows an embedding never sees keep decaying (and moving, with momentum)
            p.grad = grad
        opt.step()
    state = opt.torch_optimizer.state
    return [p.detach().clone() for p in params] + [state[p][k].clone() for p in params for k in keys]


@pytest.mark.parametrize("rule", sorted(NATIVE_RULES))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_update_matches_the_multi_tensor_update(rule, dtype, monkeypatch):
    from textrnn import kernels

    if not kernels.available():
        pytest.skip("native kernels unavailable")
    shapes = [(1000, 32), (32, 32), (32,), (70001,), (1,), (300,)]  # 70001: several threads, odd tail
    native = _trajectory(rule, dtype, shapes, 6, "native", monkeypatch)
    torch_ = _trajectory(rule, dtype, shapes, 6, "torch", monkeypatch)
    # the same rule, rounded apart (PyTorch's vector code differs by CPU): float32 weights near
    # zero carry the rounding of updates a hundred times larger, so allow a tenth of a unit weight's ulp
    tight = dtype == torch.float64
    for a, b in zip(native, torch_, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-13 if tight else 1e-5, atol=1e-12 if tight else 1e-8)
    # the weights moved: a kernel that did nothing would fail above, and this says so plainly
    first = torch.randn(shapes[0], generator=torch.Generator().manual_seed(0), dtype=dtype)
    assert not torch.equal(native[0], first)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _trajectory(rule, dtype, shapes, 3, "native", monkeypatch)
        torch.set_num_threads(2)
        two = _trajectory(rule, dtype, shapes, 3, "native", monkeypatch)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a, b)


def test_native_rmsprop_step_is_the_rule_with_a_correctly_rounded_sqrt():
    from textrnn import kernels

    if not kernels.available():
        pytest.skip("native kernels unavailable")
    g = torch.Generator().manual_seed(1)
    w = torch.randn(70001, generator=g)
    grad = torch.randn(70001, generator=g) * 1e-3
    v = torch.rand(70001, generator=g) * 1e-6
    lr, rho, eps = 0.01, 0.8, 1e-6
    v_ref = torch.addcmul(v * rho, grad, grad, value=1.0 - rho)  # PyTorch's addcmul: one FMA
    denom = torch.sqrt((v_ref + eps).double()).float()  # correctly rounded
    w_ref = w + (-lr * grad) / denom
    w_got, v_got = w.clone(), v.clone()
    kernels.rmsprop_update_(w_got, grad, v_got, learning_rate=lr, rho=rho, epsilon=eps)
    assert torch.equal(v_got, v_ref)
    assert torch.equal(w_got, w_ref)


def test_native_adam_step_is_the_rule_with_a_correctly_rounded_sqrt():
    from textrnn import kernels

    if not kernels.available():
        pytest.skip("native kernels unavailable")
    g = torch.Generator().manual_seed(1)
    w = torch.randn(70001, generator=g)
    grad = torch.randn(70001, generator=g) * 1e-3
    m = torch.randn(70001, generator=g) * 1e-3
    v = torch.rand(70001, generator=g) * 1e-6
    alpha, b1, b2, eps = 0.003, 0.9, 0.999, 1e-7
    m_ref = torch.lerp(m, grad, 1.0 - b1)
    v_ref = torch.addcmul(v * b2, grad, grad, value=1.0 - b2)  # PyTorch's addcmul: one FMA
    denom = torch.sqrt(v_ref.double()).float() + eps  # correctly rounded
    w_ref = w + (-alpha * m_ref) / denom
    w_got, m_got, v_got = w.clone(), m.clone(), v.clone()
    kernels.adam_update_(w_got, grad, m_got, v_got, alpha=alpha, beta_1=b1, beta_2=b2, epsilon=eps)
    assert torch.equal(m_got, m_ref)
    assert torch.equal(v_got, v_ref)
    assert torch.equal(w_got, w_ref)


def test_native_adam_refuses_tensors_that_do_not_fit():
    from textrnn import kernels

    if not kernels.available():
        pytest.skip("native kernels unavailable")
    w, m, v = torch.zeros(8), torch.zeros(8), torch.zeros(8)
    with pytest.raises(ValueError, match="different sizes"):
        kernels.adam_update_(w, torch.zeros(7), m, v, alpha=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-7)
    with pytest.raises(ValueError, match="contiguous"):
        kernels.adam_update_(w, torch.zeros(16)[::2], m, v, alpha=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-7)


def test_rmsprop_transposed_and_strided_weights(monkeypatch):
    from textrnn.training import optimizers as opt_module

    base = torch.randn(8, 6)
    transposed = torch.nn.Parameter(base.clone().t())  # dense, stored transposed: native kernel
    strided = torch.nn.Parameter(torch.randn(8, 12)[:, ::2])  # not dense: the multi-tensor update
    plain = torch.nn.Parameter(base.t().contiguous())
    for w in (transposed, strided, plain):
        w.grad = torch.ones_like(w)
    assert opt_module._dense_views((strided.data, strided.grad)) is None
    views = opt_module._dense_views((transposed.data, transposed.grad))
    assert views is not None and all(v.is_contiguous() for v in views)
    expected = {id(w): w.detach() - 0.1 / math.sqrt(0.1 + 1e-7) for w in (transposed, strided, plain)}
    for w in (transposed, strided, plain):
        opt = RMSprop(learning_rate=0.1)
        opt.build([w])
        opt.step()
        torch.testing.assert_close(w.detach(), expected[id(w)])
    assert torch.equal(transposed.detach(), plain.detach())


# ----------------------------------------------------------------------------------- use_ema
def _sgd_trace(opt, steps):
    """Weights after each SGD step on sum(w**3)/3 + sum(w), and the parameter itself."""
    p = torch.nn.Parameter(torch.tensor(W0, dtype=torch.float64))
    opt.build([p])
    trace = []
    for _ in range(steps):
        opt.zero_grad()
        (p.pow(3).sum() / 3 + p.sum()).backward()
        opt.step()
        trace.append(p.detach().clone())
    return p, trace


def test_ema_is_keras_moving_average_of_the_weights():
    opt = SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    p, trace = _sgd_trace(opt, 4)
    expected = trace[0].clone()  # Keras: the first step copies the weights (momentum 0 at iteration 0)
    for w in trace[1:]:
        expected = 0.9 * expected + 0.1 * w
    assert torch.allclose(opt.average[0], expected)
    # without ema_overwrite_frequency the weights themselves are plain SGD's
    plain, _ = _sgd_trace(SGD(learning_rate=0.1), 4)
    assert torch.equal(p.detach(), plain.detach())
    opt.finalize_variable_values()
    assert torch.equal(p.detach(), opt.average[0])


def test_ema_overwrite_frequency_writes_the_average_into_the_weights_every_n_steps():
    opt = SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    p, trace = _sgd_trace(opt, 3)
    # step 1 copies (average = w1); step 2 averages and overwrites; step 3 starts from that average
    w1 = trace[0]
    plain = SGD(learning_rate=0.1)
    q = torch.nn.Parameter(w1.clone())
    plain.build([q])
    plain.zero_grad()
    (q.pow(3).sum() / 3 + q.sum()).backward()
    plain.step()
    w2 = q.detach().clone()
    assert torch.allclose(trace[1], 0.5 * w1 + 0.5 * w2)  # overwritten after the 2nd step
    assert not torch.equal(trace[2], opt.average[0])  # the 3rd step does not overwrite


def test_fit_puts_the_average_in_before_on_train_end_and_early_stopping_can_restore_after(tmp_path):
    from textrnn.callbacks import Callback, EarlyStopping
    from textrnn.layers import Dense, Embedding, SimpleRNN
    from textrnn.models import Sequential

    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, size=(64, 6))
    y = rng.integers(0, 2, size=64).astype("float32")

    class Seen(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.last_epoch = self.model.get_weights()

        def on_train_end(self, logs=None):
            self.at_end = self.model.get_weights()

    torch.manual_seed(0)
    model = Sequential([Embedding(30, 4), SimpleRNN(3), Dense(1, activation="sigmoid")])
    model.compile(optimizer=RMSprop(use_ema=True, ema_momentum=0.9), loss="binary_crossentropy")
    seen = Seen()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[seen])
    average = [a.numpy() for a in model.optimizer.average]
    for at_end, avg, raw in zip(seen.at_end, average, seen.last_epoch, strict=True):
        np.testing.assert_array_equal(at_end, avg)
        assert not np.array_equal(avg, raw)

    # Keras order: the average goes in first, then EarlyStopping's restore wins
    torch.manual_seed(0)
    model = Sequential([Embedding(30, 4), SimpleRNN(3), Dense(1, activation="sigmoid")])
    model.compile(optimizer=RMSprop(use_ema=True), loss="binary_crossentropy")
    stop = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[stop])
    for w, best in zip(model.get_weights(), stop.best_weights, strict=True):
        np.testing.assert_array_equal(w, best)


def test_ema_config_round_trip_and_bad_values():
    opt = Adam(use_ema=True, ema_momentum=0.95, ema_overwrite_frequency=10)
    again = get(serialize(opt))
    assert (again.use_ema, again.ema_momentum, again.ema_overwrite_frequency) == (True, 0.95, 10)
    assert RMSprop().get_config()["use_ema"] is False
    with pytest.raises(ValueError, match="`ema_momentum`"):
        RMSprop(use_ema=True, ema_momentum=1.5)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="`ema_overwrite_frequency`"):
            SGD(use_ema=True, ema_overwrite_frequency=bad)
    with pytest.raises(TypeError, match="`use_ema`"):
        SGD(use_ema="yes")

"""Micro-batching: concurrent requests share forward passes, each gets its own rows back."""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from textrnn.serve.batcher import MicroBatcher


class Recorder:
    def __init__(self, seconds=0.0, fail_on=None):
        self.sizes = []
        self.seconds = seconds
        self.fail_on = fail_on

    def __call__(self, texts):
        self.sizes.append(len(texts))
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError("boom")
        time.sleep(self.seconds)
        return np.array([[float(len(t)), float(i)] for i, t in enumerate(texts)], dtype=np.float32)


def _run(recorder, requests, batch_texts=64, wait_ms=20.0):
    async def main():
        with ThreadPoolExecutor(1) as pool:
            b = MicroBatcher(recorder, pool, batch_texts, wait_ms)
            await b.start()
            try:
                # 60 s: a guard against a batcher that hangs, far above any real wait
                gathered = asyncio.gather(*(b.submit(r) for r in requests), return_exceptions=True)
                return await asyncio.wait_for(gathered, 60), b
            finally:
                await b.stop()

    return asyncio.run(main())


def test_concurrent_requests_share_a_forward_pass_and_get_their_own_rows():
    rec = Recorder()
    requests = [["x" * (i + 1)] * (i % 3 + 1) for i in range(12)]
    results, b = _run(rec, requests)
    assert sum(rec.sizes) == sum(map(len, requests)) and len(rec.sizes) < len(requests)
    for req, res in zip(requests, results, strict=True):
        assert res.shape == (len(req), 2)
        np.testing.assert_array_equal(res[:, 0], [len(t) for t in req])  # its own texts, in order
    assert b.batches == len(rec.sizes) and b.requests == 12 and b.texts == sum(map(len, requests))


def test_a_batch_never_exceeds_its_size_and_keeps_the_order():
    rec = Recorder(seconds=0.01)
    requests = [[str(i)] * 5 for i in range(10)]
    results, _ = _run(rec, requests, batch_texts=12)
    assert max(rec.sizes) <= 12 and sum(rec.sizes) == 50
    for i, res in enumerate(results):
        np.testing.assert_array_equal(res[:, 0], [len(str(i))] * 5)


def test_a_lone_request_is_answered_without_a_full_batch():
    rec = Recorder()
    (res,), b = _run(rec, [["only"]], batch_texts=1024, wait_ms=50.0)
    assert res.shape == (1, 2) and rec.sizes == [1] and b.batches == 1


def test_a_failed_forward_pass_fails_its_requests_only():
    rec = Recorder(fail_on="bad")
    results, _ = _run(rec, [["bad"], ["good"]], batch_texts=1)  # one request per forward pass
    assert isinstance(results[0], RuntimeError) and str(results[0]) == "boom"
    np.testing.assert_array_equal(results[1], [[4.0, 0.0]])


def test_submit_before_start_is_an_error():
    with ThreadPoolExecutor(1) as pool:
        b = MicroBatcher(Recorder(), pool, 8, 1.0)
        with pytest.raises(RuntimeError, match="start"):
            asyncio.run(b.submit(["a"]))

"""Micro-batching: concurrent requests gathered into one forward pass.

Each request puts its texts on a queue and awaits a future. One task takes the first waiting
request, then keeps taking requests until `batch_texts` texts are gathered or `batch_wait_ms`
has passed, predicts them all in one `predict_proba` call on the model thread, and hands each
request its rows. While a forward pass runs, new requests queue up, so under load batches fill
without waiting; a request alone waits at most `batch_wait_ms`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import numpy as np

PredictFn = Callable[[Sequence[str]], np.ndarray]


class MicroBatcher:
    """Gathers concurrent `submit` calls into batched calls of `predict_proba`.

    Args:
        predict_proba: texts → `(texts, classes)` probabilities.
        executor: where the forward passes run (one thread: the model is used by one at a time).
        batch_texts: most texts per forward pass (a larger single request runs alone).
        batch_wait_ms: the longest a batch waits for more requests after its first.
    """

    def __init__(
        self, predict_proba: PredictFn, executor: Executor, batch_texts: int, batch_wait_ms: float
    ) -> None:
        self._predict = predict_proba
        self._executor = executor
        self.batch_texts = batch_texts
        self.batch_wait = batch_wait_ms / 1000.0
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[np.ndarray]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # forward passes run, and the requests and texts they held (for /health)
        self.requests = 0
        self.texts = 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def submit(self, texts: list[str]) -> np.ndarray:
        """The probabilities of `texts`, predicted together with other waiting requests."""
        if self._queue is None:
            raise RuntimeError("The batcher is not running: call `start()` first.")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        loop = asyncio.get_running_loop()
        carry: tuple[list[str], asyncio.Future[np.ndarray]] | None = None
        while True:
            batch = [carry if carry is not None else await queue.get()]
            carry = None
            n = len(batch[0][0])
            deadline = time.monotonic() + self.batch_wait
            while n < self.batch_texts:
                if queue.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(queue.get(), left)
                    except asyncio.TimeoutError:
                        break
                else:
                    item = queue.get_nowait()
                if n + len(item[0]) > self.batch_texts:
                    carry = item  # first in the next batch
                    break
                batch.append(item)
                n += len(item[0])
            joined = [t for texts, _ in batch for t in texts]
            try:
                probs = await loop.run_in_executor(self._executor, self._predict, joined)
            except Exception as e:  # handed to every waiting request, answered as a 500
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            self.batches += 1
            self.requests += len(batch)
            self.texts += len(joined)
            start = 0
            for texts, future in batch:
                if not future.done():  # its client may have gone
                    future.set_result(probs[start : start + len(texts)])
                start += len(texts)

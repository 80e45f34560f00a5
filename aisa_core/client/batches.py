"""How the clients run the batches of one ``embed`` call: the sync client a few at a time on a
small thread pool, the async one a few at a time on its event loop. Everything else (checks,
plan, the model they share, the merge) is the pure ``protocol.embeddings.EmbedJob``.

Why threads on the sync client: an embedding request is latency-bound (the gateway and the
provider take far longer than decoding the answer), so running batches one after another
leaves the client idle most of the time; a few at once multiply throughput, each batch still
with the core's retries, rate limiter and bounded reads (``_call``). With fallback models named,
the first batch runs alone and settles the model for the rest. Each pooled batch runs in a copy
of the caller's context, so the observers of the attempt seam hear it in the caller's context
(the current trace span, a framework's usage tracker), as they hear every other call.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from aisa_core.errors import AISAError
from aisa_core.protocol.embeddings import Embed, EmbeddingBatch, EmbedJob
from aisa_core.retrieval import Embeddings

__all__ = ["arun_batches", "run_batches"]


def run_batches(job: EmbedJob, call: Callable[[Embed], EmbeddingBatch]) -> Embeddings:
    def one(i: int) -> EmbeddingBatch:
        try:
            return job.done(call(job.operation(i)))
        except AISAError as error:
            job.failed(i, error)
            raise

    head = [one(0)] if job.settles_model_first else []
    rest = range(len(head), len(job.batches))
    if job.concurrency == 1 or len(rest) <= 1:
        return job.merge(head + [one(i) for i in rest])
    with ThreadPoolExecutor(min(job.concurrency, len(rest)), "aisa-embed") as pool:
        # One copy per batch: a context can be entered by one thread at a time.
        futures = [pool.submit(contextvars.copy_context().run, one, i) for i in rest]
        try:
            return job.merge(head + [f.result() for f in futures])
        except BaseException:
            for f in futures:
                f.cancel()  # batches not started yet are dropped; running ones finish
            raise


async def arun_batches(
    job: EmbedJob, call: Callable[[Embed], Awaitable[EmbeddingBatch]]
) -> Embeddings:
    import asyncio  # only async callers pay for it

    async def one(i: int) -> EmbeddingBatch:
        try:
            return job.done(await call(job.operation(i)))
        except AISAError as error:
            job.failed(i, error)
            raise

    head = [await one(0)] if job.settles_model_first else []
    gate = asyncio.Semaphore(job.concurrency)

    async def gated(i: int) -> EmbeddingBatch:
        async with gate:
            return await one(i)

    tasks = [asyncio.ensure_future(gated(i)) for i in range(len(head), len(job.batches))]
    try:
        return job.merge(head + list(await asyncio.gather(*tasks)))
    except BaseException:
        for task in tasks:
            task.cancel()  # one batch failed: the call has failed, stop the others
        await asyncio.gather(*tasks, return_exceptions=True)
        raise

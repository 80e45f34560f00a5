"""llama_index_aisa: the AIsa LLM gateway as a LlamaIndex LLM, embedding model and reranker.

>>> from llama_index.core import Settings
>>> from llama_index_aisa import AISA
>>> Settings.llm = AISA("claude-sonnet-4-5-20250929", fallback_models=["gpt-4.1"])

``AISA`` is a ``FunctionCallingLLM`` (chat, completion, streaming, tools, structured output,
agents) built on the shared ``aisa_core`` client; errors are ``aisa_core``'s typed errors.
``AISAEmbedding`` (``Settings.embed_model``) and ``AISARerank`` (a node postprocessor) make a
RAG pipeline run on the AIsa key alone. ``UsageTracker`` adds up tokens and cost over every call
LlamaIndex makes, per model.
"""

from __future__ import annotations

try:
    import llama_index.core  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "llama_index_aisa needs LlamaIndex: pip install 'aisa-llm[llama-index]'"
    ) from exc

from ._usage import ModelUsage, UsageTracker
from .embeddings import AISAEmbedding
from .llm import AISA, DEFAULT_MODEL
from .postprocessor import AISARerank

__all__ = ["AISA", "DEFAULT_MODEL", "AISAEmbedding", "AISARerank", "ModelUsage", "UsageTracker"]

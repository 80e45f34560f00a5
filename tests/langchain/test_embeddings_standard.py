"""langchain-tests' standard embeddings suites: the unit suite offline, the integration suite
against the stand-in gateway over a real loopback socket (and against AIsa when AISA_API_KEY is
set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_aisa import AISAEmbeddings


class TestAISAEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[AISAEmbeddings]:
        return AISAEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-3-small", "api_key": "sk-aisa-unit-test-key"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"AISA_API_KEY": "sk-aisa-from-env", "AISA_BASE_URL": "https://gateway.example/v1"},
            {"model": "jina-embeddings-v3"},
            {"api_key": "sk-aisa-from-env", "base_url": "https://gateway.example/v1"},
        )


@pytest.mark.usefixtures("standin_env")
class TestAISAEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[AISAEmbeddings]:
        return AISAEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-3-small", "dimensions": 256}

    @pytest.fixture
    async def model(self) -> AsyncIterator[AISAEmbeddings]:
        """The suite's fixture, plus closing both pools inside the test's event loop."""
        embeddings = AISAEmbeddings(**self.embedding_model_params)
        yield embeddings
        embeddings.close()
        await embeddings.aclose()


@pytest.mark.live
@pytest.mark.enable_socket
class TestAISAEmbeddingsLive(EmbeddingsIntegrationTests):
    """The same suite against AIsa itself; runs only when AISA_API_KEY is set."""

    @property
    def embeddings_class(self) -> type[AISAEmbeddings]:
        return AISAEmbeddings

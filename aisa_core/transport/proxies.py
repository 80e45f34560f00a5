"""Which proxy a request goes through: the environment's (``HTTPS_PROXY``, ``ALL_PROXY``, ...,
minus ``NO_PROXY``), and never one for loopback, where the key would travel in clear text to
whatever listens on the proxy's address."""

from __future__ import annotations

from urllib.parse import urlsplit

from aisa_core.config import is_loopback_url

__all__ = ["env_proxy", "trusts_env"]


def trusts_env(base_url: str) -> bool:
    """httpx reads proxies (and CA settings) from the environment except for loopback."""
    return not is_loopback_url(base_url)


def env_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url`` (read once, as httpx does), or ``None``."""
    if is_loopback_url(url):
        return None
    import urllib.request  # heavy (http.client, email): only when a client is made

    parts = urlsplit(url)
    host = parts.hostname or ""
    if urllib.request.proxy_bypass(host):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")

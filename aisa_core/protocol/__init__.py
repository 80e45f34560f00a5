"""The gateway's protocol, pure: no sockets, no sleeping, no HTTP library.

- ``wire``: ``Request`` and ``Reply`` as plain data; what headers and statuses say.
- ``operation``: one ``Operation`` per endpoint and ``run``, the call with its retries and
  fallbacks; ``streaming.run_stream`` is the same for a streamed chat answer.
- ``effects``: what a call asks the clients to do (sleep, send, read, close, notify) and the
  ``Driver`` that steps it.
- ``chat``, ``models``, ``account``, ``gemini``: the endpoints.
- ``sse`` → ``events`` → ``chunks`` → ``accumulate``: bytes to events to chunks to an answer.
- ``retry``: the retry policy and the attempt plan (which model next, after what wait).
"""

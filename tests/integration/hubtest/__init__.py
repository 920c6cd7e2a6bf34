# SPDX-License-Identifier: MIT
"""Helpers of the integration tests: a hub process, a raw HTTP client, an SSE parser,
JWTs, and the case runner."""

# SPDX-License-Identifier: MIT
"""Helpers of tests/integration/test_hub.py: a hub process, a raw HTTP client, an SSE parser."""

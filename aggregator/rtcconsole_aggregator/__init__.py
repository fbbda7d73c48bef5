"""The usage aggregator: rolls second-level usage into 5-minute lines (R16).

It runs on the same store as the server; see docs/usage.md once it lands (issue 6).
"""

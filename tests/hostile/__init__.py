"""Loopback servers that behave badly, and probes of the crawl process, for the hostile suite."""

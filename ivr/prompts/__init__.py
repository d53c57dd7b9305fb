"""Prompts: the catalog of sentences, amounts and dates in words, TTS engines and the cache."""

"""Optional statistical NER: places the gazetteer lacks, from an installed spaCy pipeline.

Never needed for the default path and never downloaded: set the ``ner_model`` setting (or
``beatmap tag --ner NAME``) to the package name of a spaCy pipeline installed in the same
environment. Only its ``tok2vec`` and ``ner`` run. Its GPE/LOC/FAC entities that no gazetteer
pattern covers are added as mentions; they cannot be resolved without a gazetteer entry, so
they stay ambiguous (they show what the gazetteer misses). See docs/tagging.md for how it
measured against the rule path.
"""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path

import spacy

logger = logging.getLogger(__name__)

PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# Pipes other than these are excluded when loading: the tagger, parser and lemmatizer cost
# most of the time and add nothing to entity spans.
KEEP_PIPES = ("tok2vec", "ner")


class NerUnavailable(OSError):
    """The named pipeline is not installed or has no ``ner``; the message says what to do."""


def load_ner(name: str) -> spacy.language.Language:
    """Load the ``ner`` (and its ``tok2vec``) of an installed spaCy pipeline package, or of a
    pipeline saved in the directory ``name``."""
    if Path(name).is_dir():
        path = Path(name)
    elif spacy.util.is_package(name):
        path = spacy.util.get_package_path(name)
    else:
        raise NerUnavailable(
            f"statistical NER model {name!r} is not installed; it is optional — install the "
            f"pinned package (see docs/tagging.md) or leave the ner_model setting empty")
    try:
        names = list(spacy.util.get_model_meta(path).get("pipeline") or [])
    except (OSError, ValueError) as exc:
        raise NerUnavailable(f"spaCy pipeline {name!r} cannot be read: {exc}") from exc
    if "ner" not in names:
        raise NerUnavailable(f"spaCy pipeline {name!r} has no 'ner' component")
    nlp = spacy.load(name, exclude=[p for p in names if p not in KEEP_PIPES])
    logger.info("statistical NER %s %s loaded (pipes: %s)", name, model_version(name),
                ", ".join(nlp.pipe_names))
    return nlp


def model_version(name: str) -> str:
    """The installed version of a model package, or "" when unknown."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""

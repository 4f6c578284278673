"""Complaint keywords (投诉关键词): the terms of a complaint's text, computed once at intake and stored
with the complaint, so keyword trends count stored terms instead of segmenting every text again.

Text is segmented with jieba, loaded once with our dictionary of insurance terms (理赔款, 定损, 免赔额 …)
so domain words stay whole. Personal data never becomes a keyword: the text is scrubbed of ID, mobile and
card numbers first (``privacy.scrub_text``), e-mail addresses and the complainant's own name are removed,
and person names (jieba's ``nr`` tags), numbers and anything with a digit in it are dropped.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from claimwatch.config import PACKAGE_DIR
from claimwatch.privacy import scrub_text

DICTIONARY_DIR = PACKAGE_DIR / "defaults" / "complaints" / "keywords"
USER_DICTIONARY = DICTIONARY_DIR / "userdict.txt"
STOPWORDS = DICTIONARY_DIR / "stopwords.txt"

# Segmenting costs about 1 ms per complaint; a complaint's text never changes after intake, so the terms of
# recently seen texts are kept (by digest) and a second look at the same months costs next to nothing.
MEMO_SIZE = 50_000

# Part-of-speech tags never kept: person names (nr, nrfg, nrt), numerals and quantifiers (m, mq), and
# non-words (x: punctuation, symbols).
_DROPPED_TAGS = frozenset({"nr", "nrfg", "nrt", "m", "mq", "x"})
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_WORDLIKE = re.compile(r"[\w]", re.UNICODE)
_HAS_DIGIT = re.compile(r"\d")


def _quiet_jieba() -> None:
    # jieba logs "Building prefix dict…" at DEBUG on stderr on its first use in each process.
    logging.getLogger("jieba").setLevel(logging.WARNING)


_default_dictionary: Any = None
_default_dictionary_lock = threading.Lock()


def tokenizer(*user_dictionaries: Path) -> Any:
    """A jieba tokenizer with jieba's default dictionary plus ``user_dictionaries``.

    The default dictionary's prefix table (~580 000 entries) costs 0.7 s to load from jieba's cache file in the
    system temp dir (jieba writes it atomically on first use; 3-4 s to build without it). It is loaded once per
    process into a tokenizer of our own (never jieba's global one, which any caller may add words to) and copied
    (~50 ms) for each tokenizer with other user words: the complaint keywords and the knowledge-base search."""
    global _default_dictionary
    import jieba

    _quiet_jieba()
    with _default_dictionary_lock:
        if _default_dictionary is None:
            base = jieba.Tokenizer()
            base.initialize()
            _default_dictionary = base
    made = jieba.Tokenizer()
    made.FREQ, made.total, made.initialized = dict(_default_dictionary.FREQ), _default_dictionary.total, True
    for dictionary in user_dictionaries:
        made.load_userdict(str(dictionary))
    return made


def pos_tagger(words: Any) -> Any:
    """jieba's part-of-speech tagger over the tokenizer ``words`` (default dictionary plus user words).

    ``POSTokenizer(words)`` reads the 5 MB default dictionary again for its word tags (0.6 s); importing
    jieba.posseg has read the same file into its module tagger already, so its table is copied instead. The user
    words' tags are added on first use (``makesure_userdict_loaded``), as with the constructor."""
    import jieba.posseg

    tagger = object.__new__(jieba.posseg.POSTokenizer)
    tagger.tokenizer = words
    tagger.word_tag_tab = dict(jieba.posseg.dt.word_tag_tab)
    return tagger


class Segmenter:
    """A jieba tokenizer with our user dictionary and stopwords. Building it takes about a second (jieba loads its
    prefix dictionary and word tags), so one instance is built per process (:func:`segmenter`)."""

    def __init__(self, user_dictionary: Path = USER_DICTIONARY, stopwords: Path = STOPWORDS) -> None:
        self._tagger = pos_tagger(tokenizer(user_dictionary))
        self.domain_terms = frozenset(_dictionary_words(user_dictionary))
        self.stopwords = frozenset(_listed_words(stopwords))
        # Dictionary words with a digit in them (4S店) are kept; any other token with a digit is not.
        self._digit_terms = frozenset(word for word in self.domain_terms if _HAS_DIGIT.search(word))
        self._memo: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
        self._memo_lock = threading.Lock()

    def terms(self, text: str, hide: Iterable[str] = ()) -> list[str]:
        """The keywords of a text, in order, repeats kept. ``hide``: strings to remove first (the
        complainant's name)."""
        secrets = [secret for secret in hide if secret and len(secret) > 1]
        key = hashlib.blake2b("\x00".join([text, *secrets]).encode(), digest_size=16).digest()
        with self._memo_lock:
            known = self._memo.get(key)
            if known is not None:
                self._memo.move_to_end(key)
                return list(known)
        found = self._segment(text, secrets)
        with self._memo_lock:
            self._memo[key] = tuple(found)
            if len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return found

    def _segment(self, text: str, secrets: list[str]) -> list[str]:
        cleaned = _EMAIL.sub(" ", scrub_text(text))
        for secret in secrets:
            cleaned = cleaned.replace(secret, " ")
        found = []
        for pair in self._tagger.lcut(cleaned):
            word, flag = pair.word.strip(), pair.flag
            if self._keep(word, flag):
                found.append(word.lower() if word.isascii() else word)
        return found

    def _keep(self, word: str, flag: str) -> bool:
        if len(word) < 2 or not _WORDLIKE.search(word) or "_" in word:
            return False
        if word.lower() in self._digit_terms:
            return True
        if _HAS_DIGIT.search(word) or flag in _DROPPED_TAGS:
            return False
        return word.lower() not in self.stopwords


def _listed_words(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line.lower() for line in lines if line and not line.startswith("#")]


def _dictionary_words(path: Path) -> list[str]:
    return [line.split()[0] for line in _listed_words(path)]


_segmenter: Segmenter | None = None
_segmenter_lock = threading.Lock()


def segmenter() -> Segmenter:
    """The process's one segmenter, built on first use (concurrent first requests build it once)."""
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                _segmenter = Segmenter()
    return _segmenter


def terms_of(text: str, hide: Iterable[str] = ()) -> list[str]:
    return segmenter().terms(text, hide)


def stored_terms(subject: str, description: str, name: str | None) -> str:
    """What a complaint keeps in ``keywords``: its terms, space-separated (terms never contain a space)."""
    return " ".join(terms_of(f"{subject}\n{description}", hide=[name or ""]))

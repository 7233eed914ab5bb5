"""The SQL of the `q` search (contract §9): which part of `q` the trigram indexes look up.

A GIN scan of a LIKE pattern reads the posting list of every trigram of the pattern whole, and
a trigram that most contacts share has a list as long as the book. On a book of a million
where every custom3 reads "note <hex>", `q=NOTE 827ccb0e` took 17-25 ms and `827ccb0e` alone
2 ms. So a `q` of several words looks up only its rare words, each as a pattern of its own,
and the whole `q` is then checked on the rows they find, with `strpos` rather than LIKE so
that the planner cannot fold it back into the index scan. The answer is the same either way
(a contact containing `q` contains each of its words); only the work differs.

Which words are common comes from PostgreSQL's own statistics of the searchable text: the
values ANALYZE keeps as the histogram of contacts.search_text (about a hundred contacts'
searchable text, drawn from every user), read at most once a minute per pool. A word found in
COMMON of them or more is common, and so is a word of fewer than 3 characters (it has no
trigram of its own). With no statistics yet, every longer word counts as rare.

A phone number's leading digits (the country code, an operator's range) are shared by most of
a book as well, so the msisdn index looks up only the last DIGITS_LOOKED_UP digits of a longer
number, and the whole number is checked on the rows found.
"""

from __future__ import annotations

import re
import time
import weakref
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

from contacts_api.database.pool import ConnectionPool, Database
from contacts_api.fields.search import Search

# The column of a contact's searchable text (SEARCH_TEXT in contacts/tables.py), which
# ix_contacts_search indexes.
SEARCH_COLUMN: Final = "c.search_text"
COMMON: Final = 0.05  # of the sampled contacts
REFRESH_SECONDS: Final = 60.0
DIGITS_LOOKED_UP: Final = 7
_WORD = re.compile(r"[^\W_]+")  # what pg_trgm takes for a word: letters and digits
_SAMPLE = """
SELECT coalesce(histogram_bounds::text::text[], '{}')
       || coalesce(most_common_vals::text::text[], '{}')
  FROM pg_stats
 WHERE schemaname = current_schema() AND tablename = 'contacts' AND attname = 'search_text'"""


@dataclass(frozen=True, slots=True)
class Sample:
    """Some contacts' searchable text, as PostgreSQL's statistics hold it."""

    texts: tuple[str, ...] = ()

    def common(self, word: str) -> bool:
        if len(word) < 3:
            return True
        folded = word.lower()
        found = sum(folded in text for text in self.texts)
        return bool(self.texts) and found >= COMMON * len(self.texts)


_samples: weakref.WeakKeyDictionary[ConnectionPool, tuple[float, Sample]] = (
    weakref.WeakKeyDictionary()
)


async def read_sample(conn: asyncpg.Connection) -> Sample:
    return Sample(tuple(await conn.fetchval(_SAMPLE) or ()))


async def sample_of(db: Database) -> Sample:
    """The pool's sample, read again when it is older than REFRESH_SECONDS."""
    now = time.monotonic()
    cached = _samples.get(db.pool)
    if cached is not None and now - cached[0] < REFRESH_SECONDS:
        return cached[1]
    async with db.connection() as conn:
        sample = await read_sample(conn)
    _samples[db.pool] = (now, sample)
    return sample


def lookup_words(text: str, sample: Sample) -> list[str] | None:
    """The rare words of `text` for the index to look up; None: look `text` up whole (it is
    one word, or none of its words is rare)."""
    rare = list(dict.fromkeys(w for w in _WORD.findall(text) if not sample.common(w)))
    if not rare or rare == [text]:
        return None
    return rare


def like(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere (its own wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def q_term(q: Search, sample: Sample) -> tuple[str, list[Any]]:
    """The WHERE term of `q` (its parameters as `{}`) and its values."""
    words = lookup_words(q.text, sample)
    patterns = words or [q.text]
    sql = " AND ".join(f"{SEARCH_COLUMN} LIKE contacts_fold({{}})" for _ in patterns)
    args: list[Any] = [like(pattern) for pattern in patterns]
    if words:
        sql += f" AND strpos({SEARCH_COLUMN}, contacts_fold({{}})) > 0"
        args.append(q.text)
    if q.digits is None:
        return sql, args
    if len(q.digits) <= DIGITS_LOOKED_UP:
        digits, digits_args = "c.msisdn::text LIKE {}", [like(q.digits)]
    else:
        digits = "c.msisdn::text LIKE {} AND strpos(c.msisdn::text, {}) > 0"
        digits_args = [like(q.digits[-DIGITS_LOOKED_UP:]), q.digits]
    return f"(({sql}) OR ({digits}))", [*args, *digits_args]

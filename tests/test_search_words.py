"""Which words of a `q` the trigram index looks up (contacts/search.py). What a search finds
does not depend on this choice (tests/test_finding.py); only how fast it is."""

from __future__ import annotations

from contacts_api.contacts.search import DIGITS_LOOKED_UP, Sample, lookup_words, q_term
from contacts_api.fields.search import Q

# Twenty contacts' searchable text: every one has "note", one in five "jensen".
SAMPLE = Sample(
    tuple(f"name {i}{' jensen' if i % 5 == 0 else ''}\x1fnote {i:x}" for i in range(20))
)


def test_a_word_most_contacts_share_is_not_looked_up() -> None:
    assert lookup_words("NOTE 827ccb0e", SAMPLE) == ["827ccb0e"]
    assert lookup_words("jensen 827ccb0e", SAMPLE) == ["827ccb0e"]


def test_words_of_fewer_than_three_characters_are_not_looked_up() -> None:
    assert lookup_words("ab 827ccb0e", SAMPLE) == ["827ccb0e"]
    assert lookup_words("ab cd", SAMPLE) is None


def test_q_is_looked_up_whole_when_it_is_one_word_or_has_no_rare_word() -> None:
    assert lookup_words("827ccb0e", SAMPLE) is None
    assert lookup_words("note jensen", SAMPLE) is None
    assert lookup_words("note", SAMPLE) is None


def test_without_statistics_every_longer_word_is_rare() -> None:
    assert lookup_words("note jensen", Sample()) == ["note", "jensen"]
    assert lookup_words("note note", Sample()) == ["note"]


def test_the_whole_q_is_checked_whenever_only_words_are_looked_up() -> None:
    sql, args = q_term(Q.check("NOTE 827ccb0e"), SAMPLE)
    assert args == ["%827ccb0e%", "NOTE 827ccb0e"]
    assert "strpos(" in sql
    sql, args = q_term(Q.check("827ccb0e"), SAMPLE)
    assert (args, "strpos(" in sql) == (["%827ccb0e%"], False)


def test_a_long_number_is_looked_up_by_its_last_digits() -> None:
    _, args = q_term(Q.check("+45 3001 2345"), SAMPLE)
    assert args[-2:] == ["%0012345%", "4530012345"]
    assert len(args[-2].strip("%")) == DIGITS_LOOKED_UP
    _, args = q_term(Q.check("2345"), SAMPLE)
    assert args[-1] == "%2345%"

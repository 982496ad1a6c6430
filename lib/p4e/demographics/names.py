"""Name normalisation as a Spark expression, matching the keys of the Census and first-name lists.

It reproduces surgeo 1.1.2's `BaseModel._normalize_names` (after Word et al. 2007)
character for character:

1. null -> empty string;
2. remove ASCII digits, ASCII punctuation and ASCII whitespace;
3. upper-case;
4. strip one trailing JR, then SR, then III, then IV (in that order, each once),
   together with any Unicode space just before or after it.

So "O'Brien Jr." -> OBRIEN, "McDonald III" -> MCDONALD, "de la Cruz" -> DELACRUZ.
Like surgeo it does not strip "II" ("Smith II" -> SMITHII, not on the list), and a
name ending in the letters of a suffix loses them ("Trejr" -> TRE).
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

# string.digits + string.punctuation + string.whitespace, as a Java regex class.
_UNWANTED = r"[0-9!-/:-@\[-`{-~ \t\n\r\x0B\f]"
# Characters Python's `\s` matches that survive step 2 (Python's `\s` is not Java's).
_SPACE = r"[\x1C-\x1F\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
# surgeo's suffix patterns; `\z` because Python's `$` never sees a trailing newline here.
_SUFFIXES = (r"J\.*?R\.*", r"S\.*?R\.*", "III", "IV")


def normalize_name(name: Column | str) -> Column:
    """The list key of a surname or first name (empty string when nothing is left).

    surgeo normalises first names for BIFSG exactly as surnames.

    Args:
        name: column (or column name) holding the raw name.
    """
    col = F.col(name) if isinstance(name, str) else name
    out = F.upper(F.regexp_replace(F.coalesce(col, F.lit("")), _UNWANTED, ""))
    for suffix in _SUFFIXES:
        out = F.regexp_replace(out, rf"{_SPACE}?{suffix}{_SPACE}*?\z", "")
    return out
